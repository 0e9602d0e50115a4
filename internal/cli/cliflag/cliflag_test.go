package cliflag_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/palisade-sec/palisade/internal/cli/cliflag"
)

const usage = `Usage: palisade probe serve --ports LIST

Flags:
      --ports string   ports to serve
`

func TestParse(t *testing.T) {
	tests := map[string]struct {
		args      []string
		wantPorts string
		wantErr   string // substring; "" for none
		wantHelp  bool   // ErrHelp, with the usage printed once
	}{
		"flags":          {args: []string{"--ports", "80"}, wantPorts: "80"},
		"no arguments":   {},
		"--help":         {args: []string{"--help"}, wantHelp: true},
		"-h":             {args: []string{"--ports", "80", "-h"}, wantHelp: true},
		"positional":     {args: []string{"--ports", "80", "x", "y"}, wantErr: `unexpected argument "x"`},
		"after --":       {args: []string{"--", "--ports"}, wantErr: `unexpected argument "--ports"`},
		"unknown flag":   {args: []string{"--port", "80"}, wantErr: "unknown flag: --port"},
		"missing value":  {args: []string{"--ports"}, wantErr: "flag needs an argument"},
		"unknown -x":     {args: []string{"-x"}, wantErr: "unknown shorthand flag: 'x'"},
		"help is a flag": {args: []string{"help"}, wantErr: `unexpected argument "help"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var stdout bytes.Buffer
			fs := cliflag.NewFlagSet("serve", "palisade probe serve --ports LIST", &stdout)
			ports := fs.String("ports", "", "ports to serve")
			err := cliflag.Parse(fs, tc.args)
			switch {
			case tc.wantHelp:
				if !errors.Is(err, pflag.ErrHelp) {
					t.Errorf("err = %v, want pflag.ErrHelp", err)
				}
				if stdout.String() != usage {
					t.Errorf("stdout:\n%s\nwant the usage once:\n%s", stdout.String(), usage)
				}
				return
			case tc.wantErr == "" && err != nil:
				t.Errorf("err = %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("err = %v, want %q in it", err, tc.wantErr)
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout %q, want nothing", stdout.String())
			}
			if tc.wantErr == "" && *ports != tc.wantPorts {
				t.Errorf("--ports = %q, want %q", *ports, tc.wantPorts)
			}
		})
	}
}
