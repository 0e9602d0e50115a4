package probe_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/palisade-sec/palisade/internal/probe"
)

func TestParsePorts(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    []probe.PortSpec
		wantErr bool
	}{
		"tcp and udp": {in: "80/TCP,81/UDP", want: []probe.PortSpec{{Port: 80, Protocol: probe.TCP}, {Port: 81, Protocol: probe.UDP}}},
		"default tcp, lower case, spaces": {
			in:   "8080, 53/udp",
			want: []probe.PortSpec{{Port: 8080, Protocol: probe.TCP}, {Port: 53, Protocol: probe.UDP}},
		},
		"same number, two protocols": {in: "80/TCP,80/UDP", want: []probe.PortSpec{{Port: 80, Protocol: probe.TCP}, {Port: 80, Protocol: probe.UDP}}},
		"empty":                      {in: " ", wantErr: true},
		"twice":                      {in: "80,80/TCP", wantErr: true},
		"sctp":                       {in: "80/SCTP", wantErr: true},
		"unknown protocol":           {in: "80/ICMP", wantErr: true},
		"zero":                       {in: "0/TCP", wantErr: true},
		"too big":                    {in: "65536", wantErr: true},
		"not a number":               {in: "http", wantErr: true},
		"empty item":                 {in: "80,,81", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := probe.ParsePorts(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParsePorts(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParsePorts(%q) mismatch (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestParseTargets(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    []probe.Target
		wantErr bool
	}{
		"commas and newlines, IPv6, DNS name": {
			in: "a=tcp://10.0.0.5:80, b=udp://[fd00::5]:53\n\nc=http://reviews.bookinfo.svc:9080\n",
			want: []probe.Target{
				{ID: "a", Host: "10.0.0.5", Port: 80, Kind: probe.KindTCP},
				{ID: "b", Host: "fd00::5", Port: 53, Kind: probe.KindUDP},
				{ID: "c", Host: "reviews.bookinfo.svc", Port: 9080, Kind: probe.KindHTTP},
			},
		},
		"nothing":          {in: " ,\n", wantErr: true},
		"no id":            {in: "tcp://10.0.0.5:80", wantErr: true},
		"empty id":         {in: "=tcp://10.0.0.5:80", wantErr: true},
		"bad id":           {in: "a:b=tcp://10.0.0.5:80", wantErr: true},
		"id too long":      {in: "abcdefghijklmnopqrstuvwxyz0123456=tcp://10.0.0.5:80", wantErr: true},
		"duplicate id":     {in: "a=tcp://10.0.0.5:80,a=tcp://10.0.0.5:81", wantErr: true},
		"unknown kind":     {in: "a=sctp://10.0.0.5:80", wantErr: true},
		"no scheme":        {in: "a=10.0.0.5:80", wantErr: true},
		"no port":          {in: "a=tcp://10.0.0.5", wantErr: true},
		"port 0":           {in: "a=tcp://10.0.0.5:0", wantErr: true},
		"port too big":     {in: "a=tcp://10.0.0.5:65536", wantErr: true},
		"unbracketed IPv6": {in: "a=tcp://fd00::5:80", wantErr: true},
		"empty host":       {in: "a=tcp://:80", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := probe.ParseTargets(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseTargets(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseTargets(%q) mismatch (-want +got):\n%s", tc.in, diff)
			}
			if err != nil {
				return
			}
			again, err := probe.ParseTargets(probe.FormatTargets(got))
			if err != nil {
				t.Fatalf("ParseTargets(FormatTargets(...)): %v", err)
			}
			if diff := cmp.Diff(got, again); diff != "" {
				t.Errorf("FormatTargets does not round-trip (-want +got):\n%s", diff)
			}
		})
	}
}
