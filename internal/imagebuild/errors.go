package imagebuild

import "errors"

// Errors Index returns (wrapped, with the binary or platform at fault) for
// input it refuses; callers tell them apart with errors.Is.
var (
	// ErrNoBinaries: no binary was given.
	ErrNoBinaries = errors.New("no binaries given (pass at least one platform=path)")
	// ErrIncompletePlatform: a binary's platform lacks an OS or architecture.
	ErrIncompletePlatform = errors.New("platform needs an OS and an architecture (for example linux/amd64)")
	// ErrDuplicatePlatform: two binaries for the same platform.
	ErrDuplicatePlatform = errors.New("platform given twice (one binary per platform)")
	// ErrInvalidName: the file name of a binary in the image is unusable.
	ErrInvalidName = errors.New("invalid file name")
)
