package probe_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/palisade-sec/palisade/internal/probe"
)

func TestEncode(t *testing.T) {
	tests := map[string]struct {
		in      []probe.Outcome
		want    string
		wantErr bool
	}{
		"none": {want: "palisade-probe/v1 0\n"},
		"every code, reasons cleaned, elapsed clamped": {
			in: []probe.Outcome{
				{ID: "a", Code: probe.Connected, Elapsed: 1500 * time.Microsecond},
				{ID: "b", Code: probe.Refused, Elapsed: 0},
				{ID: "c", Code: probe.Timeout, Elapsed: 2 * time.Second},
				{ID: "d", Code: probe.Error, Elapsed: 3 * time.Millisecond, Reason: " dial: no route\nto host: é "},
				{ID: "e", Code: probe.PlaintextAccepted, Elapsed: time.Hour, Reason: "HTTP/1.1 200 OK"},
				{ID: "f", Code: probe.PlaintextRejected, Elapsed: -time.Second, Reason: "reset"},
				{ID: "g", Code: probe.Error, Reason: strings.Repeat("x", 50)},
			},
			want: "palisade-probe/v1 7\n" +
				"a:C:1\n" +
				"b:R:0\n" +
				"c:T:2000\n" +
				"d:E:3:dial: no route?to host: ??\n" +
				"e:A:999999:HTTP/1.1 200 OK\n" +
				"f:J:0:reset\n" +
				"g:E:0:" + strings.Repeat("x", probe.MaxReasonLen) + "\n",
		},
		"bad ID":      {in: []probe.Outcome{{ID: "a b", Code: probe.Connected}}, wantErr: true},
		"repeated ID": {in: []probe.Outcome{{ID: "a", Code: probe.Connected}, {ID: "a", Code: probe.Refused}}, wantErr: true},
		"zero code":   {in: []probe.Outcome{{ID: "a"}}, wantErr: true},
		"too large":   {in: outcomes(200, 20, probe.Error, "x"), wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := probe.Encode(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Encode error = %v, want error %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("Encode mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// outcomes returns n outcomes with IDs of idLen characters.
func outcomes(n, idLen int, code probe.Code, reason string) []probe.Outcome {
	out := make([]probe.Outcome, n)
	for i := range out {
		out[i] = probe.Outcome{ID: id(i, idLen), Code: code, Elapsed: 999999 * time.Millisecond, Reason: reason}
	}
	return out
}

// id is a distinct ID of exactly n characters (n >= 4).
func id(i, n int) string {
	s := fmt.Sprintf("%04d", i)
	return s + strings.Repeat("x", n-len(s))
}

func TestDecodeRoundTrip(t *testing.T) {
	in := []probe.Outcome{
		{ID: "a", Code: probe.Connected, Elapsed: 12 * time.Millisecond},
		{ID: "case-7.udp_81", Code: probe.Timeout, Elapsed: 3 * time.Second},
		{ID: "m1", Code: probe.PlaintextAccepted, Elapsed: 5 * time.Millisecond, Reason: "HTTP/1.1 400 Bad Request: x"},
		{ID: "m2", Code: probe.PlaintextRejected, Reason: "tls alert"},
		{ID: "z", Code: probe.Error, Elapsed: time.Millisecond, Reason: "host unreachable"},
	}
	data, err := probe.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := probe.Decode(data)
	if err != nil {
		t.Fatalf("Decode(%q): %v", data, err)
	}
	if diff := cmp.Diff(in, got); diff != "" {
		t.Errorf("Decode(Encode(x)) mismatch (-want +got):\n%s", diff)
	}
}

func TestDecodeRejects(t *testing.T) {
	tests := map[string]string{
		"empty":                   "",
		"no final newline":        "palisade-probe/v1 1\na:C:1",
		"wrong header":            "palisade-probe/v2 0\n",
		"header without count":    "palisade-probe/v1\n",
		"count too high":          "palisade-probe/v1 2\na:C:1\n",
		"count too low":           "palisade-probe/v1 0\na:C:1\n",
		"count with leading zero": "palisade-probe/v1 01\na:C:1\n",
		"negative count":          "palisade-probe/v1 -1\n",
		"blank line":              "palisade-probe/v1 1\n\n",
		"two fields":              "palisade-probe/v1 1\na:C\n",
		"empty ID":                "palisade-probe/v1 1\n:C:1\n",
		"bad ID":                  "palisade-probe/v1 1\na b:C:1\n",
		"long ID":                 "palisade-probe/v1 1\n" + strings.Repeat("a", probe.MaxIDLen+1) + ":C:1\n",
		"unknown code":            "palisade-probe/v1 1\na:Q:1\n",
		"two-letter code":         "palisade-probe/v1 1\na:CC:1\n",
		"lower-case code":         "palisade-probe/v1 1\na:c:1\n",
		"ms not a number":         "palisade-probe/v1 1\na:C:1x\n",
		"ms negative":             "palisade-probe/v1 1\na:C:-1\n",
		"ms leading zero":         "palisade-probe/v1 1\na:C:01\n",
		"ms too long":             "palisade-probe/v1 1\na:C:1000000\n",
		"empty ms":                "palisade-probe/v1 1\na:C:\n",
		"empty reason":            "palisade-probe/v1 1\na:E:1:\n",
		"padded reason":           "palisade-probe/v1 1\na:E:1: x\n",
		"reason too long":         "palisade-probe/v1 1\na:E:1:" + strings.Repeat("x", probe.MaxReasonLen+1) + "\n",
		"reason not ASCII":        "palisade-probe/v1 1\na:E:1:é\n",
		"reason with tab":         "palisade-probe/v1 1\na:E:1:a\tb\n",
		"carriage return":         "palisade-probe/v1 1\r\na:C:1\n",
		"repeated ID":             "palisade-probe/v1 2\na:C:1\na:R:1\n",
		"trailing data":           "palisade-probe/v1 1\na:C:1\nx",
		"too large":               "palisade-probe/v1 1\na:E:1:" + strings.Repeat("x", probe.MaxMessageSize) + "\n",
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			if got, err := probe.Decode([]byte(in)); err == nil {
				t.Errorf("Decode(%q) = %v, want an error", in, got)
			}
		})
	}
}

// FuzzDecode checks that Decode never panics and that whatever it accepts
// is exactly what Encode writes for the result.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("palisade-probe/v1 0\n"))
	f.Add([]byte("palisade-probe/v1 2\na:C:1\nb:E:20:dial tcp: i/o timeout\n"))
	f.Add([]byte("palisade-probe/v1 1\nm:A:7:HTTP/1.1 200 OK\n"))
	f.Add([]byte("palisade-probe/v1 1\nm:J:0\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := probe.Decode(data)
		if err != nil {
			return
		}
		again, err := probe.Encode(got)
		if err != nil {
			t.Fatalf("Encode(Decode(%q)): %v", data, err)
		}
		if string(again) != string(data) {
			t.Fatalf("Encode(Decode(%q)) = %q", data, again)
		}
	})
}

func TestSplit(t *testing.T) {
	// header1 is the header's size for up to 9 outcomes; a line of a 4-byte
	// ID takes at most 55 bytes.
	const header1 = len("palisade-probe/v1 9\n")
	tests := map[string]struct {
		n, idLen, budget int
		wantSizes        []int
		wantErr          bool
	}{
		"none":      {n: 0, idLen: 4, wantSizes: nil},
		"one group": {n: 10, idLen: 4, wantSizes: []int{10}},
		// 21 + 49*(32+51) = 4088; one more would take 4171.
		"max IDs fill 4 KiB": {n: 200, idLen: probe.MaxIDLen, wantSizes: []int{49, 49, 49, 49, 4}},
		// 21 + 74*(4+51) = 4091.
		"short IDs fill 4 KiB":     {n: 100, idLen: 4, wantSizes: []int{74, 26}},
		"budget above 4 KiB":       {n: 100, idLen: 4, budget: 1 << 20, wantSizes: []int{74, 26}},
		"small budget":             {n: 5, idLen: 4, budget: header1 + 2*55, wantSizes: []int{2, 2, 1}},
		"one target does not fit":  {n: 1, idLen: 4, budget: header1 + 55 - 1, wantErr: true},
		"exactly one target fits":  {n: 3, idLen: 4, budget: header1 + 55, wantSizes: []int{1, 1, 1}},
		"one byte short of a pair": {n: 2, idLen: 4, budget: header1 + 2*55 - 1, wantSizes: []int{1, 1}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			targets := make([]probe.Target, tc.n)
			for i := range targets {
				targets[i] = probe.Target{ID: id(i, tc.idLen), Host: "10.0.0.1", Port: 80, Kind: probe.KindTCP}
			}
			groups, err := probe.Split(targets, tc.budget)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Split error = %v, want error %v", err, tc.wantErr)
			}
			var sizes []int
			var all []probe.Target
			for _, g := range groups {
				sizes = append(sizes, len(g))
				all = append(all, g...)
				checkWorstCaseFits(t, g, cmpOr(min(tc.budget, probe.MaxMessageSize), probe.MaxMessageSize))
			}
			if diff := cmp.Diff(tc.wantSizes, sizes); diff != "" {
				t.Errorf("group sizes mismatch (-want +got):\n%s", diff)
			}
			if err == nil && len(targets) > 0 {
				if diff := cmp.Diff(targets, all); diff != "" {
					t.Errorf("groups do not hold the targets in order (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// checkWorstCaseFits encodes the largest outcomes possible for the group
// and checks that they fit the budget.
func checkWorstCaseFits(t *testing.T, group []probe.Target, budget int) {
	t.Helper()
	worst := make([]probe.Outcome, len(group))
	for i, tg := range group {
		worst[i] = probe.Outcome{ID: tg.ID, Code: probe.PlaintextAccepted, Elapsed: time.Hour, Reason: strings.Repeat("r", 100)}
	}
	data, err := probe.Encode(worst)
	if err != nil {
		t.Fatalf("Encode(worst case of a group): %v", err)
	}
	if len(data) > budget || len(data) > probe.MaxEncodedSize(group) {
		t.Errorf("worst case of a group of %d takes %d bytes: budget %d, MaxEncodedSize %d", len(group), len(data), budget, probe.MaxEncodedSize(group))
	}
}

func cmpOr(v, fallback int) int {
	if v <= 0 {
		return fallback
	}
	return v
}

func TestSplitRejectsInvalidTargets(t *testing.T) {
	tests := map[string][]probe.Target{
		"repeated ID": {{ID: "a", Host: "h", Port: 1, Kind: probe.KindTCP}, {ID: "a", Host: "h", Port: 2, Kind: probe.KindTCP}},
		"bad kind":    {{ID: "a", Host: "h", Port: 1, Kind: "icmp"}},
		"bad port":    {{ID: "a", Host: "h", Port: 0, Kind: probe.KindTCP}},
		"no host":     {{ID: "a", Port: 1, Kind: probe.KindTCP}},
	}
	for name, targets := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := probe.Split(targets, 0); err == nil {
				t.Error("Split succeeded, want an error")
			}
		})
	}
}
