// Command samplebin is a tiny static program the release tests package into
// images: it has Go build information and one module dependency, so the
// SBOM derived from it is not trivial.
package main

import (
	"fmt"
	"os"

	"golang.org/x/crypto/bcrypt"
)

func main() {
	fmt.Println("samplebin", bcrypt.DefaultCost, len(os.Args))
}
