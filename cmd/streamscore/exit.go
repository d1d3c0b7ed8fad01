package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes, the same for every command (and listed in --help).
const (
	exitOK      = 0 // done
	exitError   = 1 // it failed: the error says why
	exitUsage   = 2 // the command line is wrong: flags, arguments
	exitProblem = 3 // it ran, and the check it makes found a problem
)

// exitCodes is the help text that lists the exit codes.
const exitCodes = `Exit status: 0 done; 1 error; 2 wrong usage (flags, arguments);
3 the check found a problem (drift status while a column drifts, model
validate refusing a version, replay --fail-on).`

// codedError carries the exit status of an error.
type codedError struct {
	code int
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

// usageErrorf is a wrong command line (exit 2).
func usageErrorf(format string, a ...any) error {
	return &codedError{exitUsage, fmt.Errorf(format, a...)}
}

// checkFailedf is a check that found a problem (exit 3).
func checkFailedf(format string, a ...any) error {
	return &codedError{exitProblem, fmt.Errorf(format, a...)}
}

// checkFailed marks err as a check that found a problem (exit 3).
func checkFailed(err error) error {
	if err == nil {
		return nil
	}
	return &codedError{exitProblem, err}
}

// exitCode returns the exit status for err: its own, 2 for cobra's usage
// errors (unknown command or flag, missing or extra arguments, required
// flags), else 1.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var e *codedError
	if errors.As(err, &e) {
		return e.code
	}
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "required flag(s)", "flag needs an argument", "invalid argument", "bad flag syntax"} {
		if strings.HasPrefix(msg, p) {
			return exitUsage
		}
	}
	return exitError
}

// markUsage makes flag errors and argument errors of c and its
// subcommands usage errors (exit 2), and adds the exit codes to their help.
func markUsage(c *cobra.Command) {
	c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &codedError{exitUsage, err} })
	if args := c.Args; args != nil {
		c.Args = func(cmd *cobra.Command, a []string) error {
			if err := args(cmd, a); err != nil {
				return &codedError{exitUsage, err}
			}
			return nil
		}
	}
	if c.Runnable() {
		c.Long = strings.TrimRight(c.Long, "\n")
		if c.Long == "" {
			c.Long = c.Short + "."
		}
		c.Long += "\n\n" + exitCodes
	}
	for _, sub := range c.Commands() {
		markUsage(sub)
	}
}
