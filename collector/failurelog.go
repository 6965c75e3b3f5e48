package collector

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
)

// failureLog logs a poll failure when it starts and when its cause
// changes, and the recovery once; the same failure repeated every poll is
// logged at debug, so an outage is a few lines, not one per poll. A line
// names how many things failed and the first few, never all of them: one
// error per group would make a line that grows with the cluster.
type failureLog struct{ last string }

// maxNamedErrors is how many of a poll's errors a log line quotes.
const maxNamedErrors = 3

func (l *failureLog) record(logger *slog.Logger, err error) {
	if err == nil {
		if l.last != "" {
			logger.Info("poll succeeded again")
			l.last = ""
		}
		return
	}
	leaves := errorLeaves(err)
	// The cause is what went wrong, not which group it went wrong for: a
	// new group failing the same way is the same failure.
	cause := causeOf(leaves)
	summary := summarise(leaves)
	if cause == l.last {
		logger.Debug("poll failed", "errors", len(leaves), "err", summary)
		return
	}
	logger.Warn("poll failed", "errors", len(leaves), "err", summary)
	l.last = cause
}

// errorLeaves flattens errors.Join trees into their single errors.
func errorLeaves(err error) []error {
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range u.Unwrap() {
			out = append(out, errorLeaves(e)...)
		}
		return out
	}
	if err == nil {
		return nil
	}
	// A wrapped join ("read records on broker 1: a\nb") is flattened too.
	if inner := errors.Unwrap(err); inner != nil {
		if _, ok := inner.(interface{ Unwrap() []error }); ok {
			return errorLeaves(inner)
		}
	}
	return []error{err}
}

// summarise is the first few errors and how many more there are.
func summarise(leaves []error) string {
	msgs := make([]string, 0, maxNamedErrors)
	for _, e := range leaves[:min(len(leaves), maxNamedErrors)] {
		m := e.Error()
		if len(m) > 300 {
			m = m[:300] + "…"
		}
		msgs = append(msgs, m)
	}
	s := strings.Join(msgs, "; ")
	if more := len(leaves) - len(msgs); more > 0 {
		s += fmt.Sprintf("; and %d more", more)
	}
	return s
}

// causeOf is the distinct innermost errors: Kafka's error codes and
// network errors, without the names of groups, topics and brokers.
func causeOf(leaves []error) string {
	var causes []string
	for _, e := range leaves {
		for {
			inner := errors.Unwrap(e)
			if inner == nil {
				break
			}
			e = inner
		}
		if m := e.Error(); !slices.Contains(causes, m) {
			causes = append(causes, m)
		}
	}
	slices.Sort(causes)
	return strings.Join(causes, "\n")
}
