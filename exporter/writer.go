package exporter

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
	out *bufio.Writer
	// family is the family being written. The format wants each family's
	// lines together, so the writer is given one family at a time; its
	// header is written with the first sample, and a family without
	// samples leaves no trace.
	family      *Family
	wroteHeader bool
	// constLabels are written first on every sample: the cluster's
	// constant labels (cluster="…" and --kafka.labels), or none.
	constLabels []byte
	line        []byte
	// labels, group and topic are scratch buffers for the families'
	// labels: group and topic hold the last group's and topic's label,
	// escaped once for all the series that repeat it.
	labels, group, topic []byte
}

func newTextWriter(out *bufio.Writer) *textWriter {
	return &textWriter{out: out, line: make([]byte, 0, 512)}
}

// startFamily makes f the family being written; its header comes with
// its first sample, whichever cluster that belongs to.
func (w *textWriter) startFamily(f *Family) {
	w.family, w.wroteHeader = f, false
}

// writeSeries writes every series of the current family that r holds,
// each carrying constLabels.
func (w *textWriter) writeSeries(r *rendering, constLabels []byte) {
	w.constLabels = constLabels
	w.family.write(w, r)
}

// sample writes one sample of the current family when v is a finite number.
func (w *textWriter) sample(labels []byte, v float64) {
	w.sampleWithSuffix("", labels, v)
}

// sampleWithSuffix writes a sample whose name is the family's name and a
// suffix (_bucket, _sum and _count of a histogram).
func (w *textWriter) sampleWithSuffix(suffix string, labels []byte, v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	if !w.wroteHeader {
		w.header()
	}
	line := append(w.line[:0], w.family.Name...)
	line = append(line, suffix...)
	if len(labels) > 0 || len(w.constLabels) > 0 {
		line = append(line, '{')
		line = append(line, w.constLabels...)
		if len(labels) > 0 && len(w.constLabels) > 0 {
			line = append(line, ',')
		}
		line = append(line, labels...)
		line = append(line, '}')
	}
	line = append(line, ' ')
	line = appendValue(line, v)
	line = append(line, '\n')
	w.line = line
	_, _ = w.out.Write(line) // a failed write sticks in the bufio.Writer; Flush reports it
	// Keep the grown scratch buffer the families build labels in.
	if cap(labels) > cap(w.labels) {
		w.labels = labels[:0]
	}
}

func (w *textWriter) header() {
	w.wroteHeader = true
	f := w.family
	line := append(w.line[:0], "# HELP "...)
	line = append(line, f.Name...)
	line = append(line, ' ')
	line = append(line, helpEscaper.Replace(f.Help)...)
	line = append(line, "\n# TYPE "...)
	line = append(line, f.Name...)
	line = append(line, ' ')
	line = append(line, f.Type...)
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
	if needsEscaping(value) {
		if !utf8.ValidString(value) {
			value = strings.ToValidUTF8(value, "\uFFFD")
		}
		value = valueEscaper.Replace(value)
	}
	labels = append(labels, value...)
	return append(labels, '"')
}

// needsEscaping reports whether a label value holds a byte the format
// escapes or a non-ASCII byte that might not be UTF-8: one pass over the
// bytes, as almost every group and topic name is plain ASCII and a scrape
// writes a million labels.
func needsEscaping(value string) bool {
	for i := 0; i < len(value); i++ {
		if c := value[i]; c >= utf8.RuneSelf || c == '\\' || c == '"' || c == '\n' {
			return true
		}
	}
	return false
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
