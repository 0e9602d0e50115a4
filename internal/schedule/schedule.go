// Package schedule reads SecurityScan and PolicyProbe cron schedules and
// decides when runs are due.
package schedule

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // schedules name IANA time zones; images have no zoneinfo

	"github.com/robfig/cron/v3"
)

var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Schedule is a parsed cron schedule in a time zone.
type Schedule struct {
	sched cron.Schedule
	loc   *time.Location
}

// Parse reads a five-field cron expression or a macro (@daily, ...) in the
// IANA time zone tz ("" means UTC). "@every" is rejected: runs must fall on
// wall-clock slots so that report names are stable.
func Parse(expr, tz string) (*Schedule, error) {
	expr = strings.TrimSpace(expr)
	if strings.HasPrefix(expr, "@every") {
		return nil, fmt.Errorf("schedule %q: @every is not supported, use a cron expression", expr)
	}
	if strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ=") {
		return nil, fmt.Errorf("schedule %q: set the time zone in spec.timeZone, not in the schedule", expr)
	}
	loc := time.UTC
	if tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil {
			return nil, fmt.Errorf("time zone %q: %w", tz, err)
		}
		loc = l
	}
	s, err := parser.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", expr, err)
	}
	return &Schedule{sched: s, loc: loc}, nil
}

// Next is the first slot strictly after t.
func (s *Schedule) Next(t time.Time) time.Time {
	return s.sched.Next(t.In(s.loc))
}

// LatestDue is the latest slot in (after, now], and whether there is one.
// When the operator was down across several slots, only the latest runs, as
// with a CronJob. It searches backwards from now in doubling windows, so a
// schedule missed for months costs a few dozen steps, not one per slot.
func (s *Schedule) LatestDue(after, now time.Time) (time.Time, bool) {
	for w := time.Minute; ; w *= 2 {
		start := now.Add(-w)
		if !start.After(after) {
			start = after
		}
		if t := s.Next(start); !t.IsZero() && !t.After(now) {
			latest := t
			for n := s.Next(t); !n.IsZero() && !n.After(now); n = s.Next(n) {
				latest = n
			}
			return latest, true
		}
		if start.Equal(after) {
			return time.Time{}, false
		}
	}
}
