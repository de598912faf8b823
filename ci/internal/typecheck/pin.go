package typecheck

// The check loads the SDK version this module requires. Importing it here
// keeps that requirement in go.mod (and `go mod tidy` stable) while the
// generated code that really imports it is git-ignored.
import _ "dagger.io/dagger"
