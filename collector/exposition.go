package collector

import (
	"bufio"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// textWriter writes the Prometheus text exposition format (version 0.0.4)
// straight from the snapshot. A snapshot of 100,000 group-partitions is
// well over a million series; building a prometheus.Metric for each, then
// a protobuf family for the registry to sort and encode, cost seconds and
// a gigabyte per scrape. Writing lines into a buffered stream costs a
// fraction of that and holds no more of the body than the buffer.
//
// Every sample goes through a guard: whatever Kafka answered, the output
// never carries NaN, Inf or a negative value where none can be.
type textWriter struct {
	out  *bufio.Writer
	skip map[*metric]bool
	// open is the family whose HELP and TYPE lines were written last. The
	// format wants each family's lines together, so renderers write one
	// family at a time; the header is written with the first sample, and a
	// family without samples leaves no trace.
	open *metric
	line []byte
}

func newTextWriter(out *bufio.Writer, skip map[*metric]bool) *textWriter {
	return &textWriter{out: out, skip: skip, line: make([]byte, 0, 512)}
}

// write writes a sample of m when v is a finite number.
func (w *textWriter) write(m *metric, labels []byte, v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	w.sample(m, labels, nil, v)
}

// stateSet writes one sample per state, 1 for current and 0 for the rest.
// stateLabels holds each state's label pair, pre-formatted.
func (w *textWriter) stateSet(m *metric, labels []byte, stateLabels [][]byte, states []string, current string) {
	for i, s := range states {
		w.sample(m, labels, stateLabels[i], boolValue(s == current))
	}
}

func (w *textWriter) sample(m *metric, labels, extra []byte, v float64) {
	if w.skip[m] {
		return
	}
	if w.open != m {
		w.header(m)
	}
	line := append(w.line[:0], m.name...)
	if len(labels) > 0 || len(extra) > 0 {
		line = append(line, '{')
		line = append(line, labels...)
		if len(labels) > 0 && len(extra) > 0 {
			line = append(line, ',')
		}
		line = append(line, extra...)
		line = append(line, '}')
	}
	line = append(line, ' ')
	line = appendValue(line, v)
	line = append(line, '\n')
	w.line = line
	_, _ = w.out.Write(line) // a failed write sticks in the bufio.Writer; Flush reports it
}

func (w *textWriter) header(m *metric) {
	w.open = m
	kind := m.kind
	if kind == stateset {
		kind = gauge // the text format has no StateSet; it is a gauge per state
	}
	line := append(w.line[:0], "# HELP "...)
	line = append(line, m.name...)
	line = append(line, ' ')
	line = append(line, helpEscaper.Replace(m.help)...)
	line = append(line, "\n# TYPE "...)
	line = append(line, m.name...)
	line = append(line, ' ')
	line = append(line, kind...)
	line = append(line, '\n')
	w.line = line
	_, _ = w.out.Write(line)
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	valueEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

// appendLabel appends name="value" to labels, with a separating comma when
// labels already holds a pair. Kafka allows any bytes in a group name;
// Prometheus wants UTF-8, so invalid bytes become U+FFFD rather than
// failing the scrape.
func appendLabel(labels []byte, name, value string) []byte {
	if len(labels) > 0 {
		labels = append(labels, ',')
	}
	labels = append(labels, name...)
	labels = append(labels, '=', '"')
	if !utf8.ValidString(value) {
		value = strings.ToValidUTF8(value, "\uFFFD")
	}
	if strings.ContainsAny(value, "\\\n\"") {
		value = valueEscaper.Replace(value)
	}
	labels = append(labels, value...)
	return append(labels, '"')
}

func appendPartitionLabel(labels []byte, partition int32) []byte {
	labels = append(labels, `,partition="`...)
	labels = strconv.AppendInt(labels, int64(partition), 10)
	return append(labels, '"')
}

// appendValue formats whole numbers as integers (offsets, counts), which
// reads better and is exact, and everything else as Go's shortest float.
func appendValue(b []byte, v float64) []byte {
	if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
		return strconv.AppendInt(b, int64(v), 10)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// stateLabelPairs pre-formats label="state" for each state.
func stateLabelPairs(label string, states []string) [][]byte {
	out := make([][]byte, len(states))
	for i, s := range states {
		out[i] = appendLabel(nil, label, s)
	}
	return out
}
