module dagger/tests

go 1.26.1

// dagger.io/dagger is imported by the code `dagger develop` generates (git-ignored).
require dagger.io/dagger v0.21.9

require golang.org/x/sync v0.20.0
