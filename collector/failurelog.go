package collector

import "log/slog"

// failureLog logs a poll failure when it starts and when its cause
// changes, and the recovery once; the same failure repeated every poll is
// logged at debug, so an outage is a few lines, not one per poll.
type failureLog struct{ last string }

func (l *failureLog) record(logger *slog.Logger, err error) {
	switch {
	case err == nil && l.last != "":
		logger.Info("poll succeeded again")
		l.last = ""
	case err != nil && err.Error() != l.last:
		logger.Warn("poll failed", "err", err)
		l.last = err.Error()
	case err != nil:
		logger.Debug("poll failed", "err", err)
	}
}
