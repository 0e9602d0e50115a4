package schedule

import (
	"strings"
	"testing"
	"time"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestParse(t *testing.T) {
	tests := map[string]struct {
		expr, tz string
		wantErr  string
	}{
		"five fields":        {expr: "*/15 * * * 1-5"},
		"macro":              {expr: "@daily"},
		"with time zone":     {expr: "0 3 * * *", tz: "Europe/Paris"},
		"six fields":         {expr: "0 0 3 * * *", wantErr: "expected exactly 5 fields"},
		"out of range":       {expr: "61 * * * *", wantErr: "end of range (61) above maximum (59)"},
		"garbage":            {expr: "every day", wantErr: "expected exactly 5 fields"},
		"every":              {expr: "@every 5m", wantErr: "@every is not supported"},
		"tz in expr":         {expr: "CRON_TZ=UTC 0 * * * *", wantErr: "spec.timeZone"},
		"unknown time zone":  {expr: "@hourly", tz: "Mars/Olympus", wantErr: "unknown time zone"},
		"unknown descriptor": {expr: "@fortnightly", wantErr: "unrecognized descriptor"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(tc.expr, tc.tz)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestLatestDue(t *testing.T) {
	tests := map[string]struct {
		expr, tz   string
		after, now string
		want       string // "" means none due
	}{
		"none yet":               {expr: "0 * * * *", after: "2026-01-01T10:00:00Z", now: "2026-01-01T10:59:59Z"},
		"exactly on the slot":    {expr: "0 * * * *", after: "2026-01-01T10:00:00Z", now: "2026-01-01T11:00:00Z", want: "2026-01-01T11:00:00Z"},
		"only the latest missed": {expr: "*/10 * * * *", after: "2026-01-01T10:00:00Z", now: "2026-01-01T12:34:00Z", want: "2026-01-01T12:30:00Z"},
		"months missed":          {expr: "* * * * *", after: "2025-01-01T00:00:00Z", now: "2026-01-01T12:34:30Z", want: "2026-01-01T12:34:00Z"},
		"sparse schedule":        {expr: "0 0 1 1 *", after: "2020-06-01T00:00:00Z", now: "2026-03-01T00:00:00Z", want: "2026-01-01T00:00:00Z"},
		"after is exclusive":     {expr: "0 * * * *", after: "2026-01-01T11:00:00Z", now: "2026-01-01T11:30:00Z"},
		"time zone":              {expr: "0 3 * * *", tz: "Asia/Tokyo", after: "2026-01-01T00:00:00Z", now: "2026-01-01T19:00:00Z", want: "2026-01-01T18:00:00Z"},
		"never fires":            {expr: "0 0 30 2 *", after: "2026-01-01T00:00:00Z", now: "2026-12-01T00:00:00Z"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s, err := Parse(tc.expr, tc.tz)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := s.LatestDue(mustTime(t, tc.after), mustTime(t, tc.now))
			if tc.want == "" {
				if ok {
					t.Fatalf("got %v, want none due", got)
				}
				return
			}
			if !ok || !got.Equal(mustTime(t, tc.want)) {
				t.Fatalf("got %v (%v), want %s", got, ok, tc.want)
			}
		})
	}
}

func TestNext(t *testing.T) {
	s, err := Parse("30 2 * * *", "America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	got := s.Next(mustTime(t, "2026-07-01T00:00:00Z"))
	if want := mustTime(t, "2026-07-01T06:30:00Z"); !got.Equal(want) {
		t.Fatalf("Next = %v, want %v", got, want)
	}
}
