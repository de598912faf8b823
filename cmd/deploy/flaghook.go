package main

import "flag"

// afterParse, when set, is called with each command's flag set once its
// arguments parsed, before the command does anything; its error ends the
// command. The contract test sets it to read the flags the pipeline's command
// lines (ci/cmdline) set through the command's own flag definitions.
var afterParse func(fs *flag.FlagSet) error
