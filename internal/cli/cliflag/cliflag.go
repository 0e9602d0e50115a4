// Package cliflag gives the subcommands of palisade's commands (netpol
// check, probe serve, ...) flag sets that print their usage on -h and
// leave error reporting to the command.
package cliflag

import (
	"fmt"
	"io"

	"github.com/spf13/pflag"
)

// NewFlagSet returns a flag set named name. On -h and --help it prints
// "Usage: " and usage (such as "palisade probe serve --ports LIST"), then
// the flags, to stdout; on errors it prints nothing, leaving them to the
// command.
func NewFlagSet(name, usage string, stdout io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(stdout, "Usage: %s\n\nFlags:\n%s", usage, fs.FlagUsages())
	}
	return fs
}

// Parse parses args, which must all be flags. On -h and --help it returns
// pflag.ErrHelp, pflag having printed the usage.
func Parse(fs *pflag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return nil
}
