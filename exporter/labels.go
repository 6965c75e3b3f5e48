package exporter

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Label is one constant label: written on every series of a cluster, as
// kafka_exporter's --kafka.labels are.
type Label struct{ Name, Value string }

// ParseLabels reads kafka_exporter's --kafka.labels syntax,
// "name=value,name2=value2", and checks the names with CheckLabels. An
// empty string is no labels.
func ParseLabels(s string) ([]Label, error) {
	if s == "" {
		return nil, nil
	}
	var labels []Label
	for pair := range strings.SplitSeq(s, ",") {
		name, value, ok := strings.Cut(pair, "=")
		if !ok {
			return nil, fmt.Errorf("%q is not name=value", pair)
		}
		labels = append(labels, Label{strings.TrimSpace(name), value})
	}
	return labels, CheckLabels(labels)
}

// MaxLabelValueBytes bounds a constant label's value. The label is
// written on every series of its cluster: a long value multiplies into
// every scrape (a 10 MB value made one scrape stream 87 GB).
const MaxLabelValueBytes = 1024

// MaxLabels bounds the constant labels of a cluster, for the same reason.
const MaxLabels = 32

var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// CheckLabels reports the first constant label Prometheus would reject or
// that would clash with a label of lagwatch's own series: a name used
// twice, a name of the metric table's labels (topic, consumergroup, …),
// one starting with "__", which Prometheus reserves, or a value longer
// than MaxLabelValueBytes or not UTF-8.
func CheckLabels(labels []Label) error {
	if len(labels) > MaxLabels {
		return fmt.Errorf("%d labels, more than %d", len(labels), MaxLabels)
	}
	reserved := reservedLabels()
	seen := map[string]bool{}
	for _, l := range labels {
		switch {
		case !labelName.MatchString(l.Name):
			return fmt.Errorf("label name %q is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)", l.Name)
		case strings.HasPrefix(l.Name, "__"):
			return fmt.Errorf("label name %q starts with __, which Prometheus reserves", l.Name)
		case slices.Contains(reserved, l.Name):
			return fmt.Errorf("label name %q is a label of lagwatch's own series (%s)", l.Name, strings.Join(reserved, ", "))
		case seen[l.Name]:
			return fmt.Errorf("label name %q is given twice", l.Name)
		case len(l.Value) > MaxLabelValueBytes:
			return fmt.Errorf("label %s: value of %d bytes, longer than %d", l.Name, len(l.Value), MaxLabelValueBytes)
		case !utf8.ValidString(l.Value):
			return fmt.Errorf("label %s: value is not valid UTF-8", l.Name)
		}
		seen[l.Name] = true
	}
	return nil
}

// reservedLabels are the labels the metric table's families carry, and
// the histogram's le.
func reservedLabels() []string {
	names := []string{"le"}
	for _, f := range Table {
		for _, l := range f.Labels {
			if !slices.Contains(names, l) {
				names = append(names, l)
			}
		}
	}
	slices.Sort(names)
	return names
}

// appendConstLabels renders labels as the text format's pairs.
func appendConstLabels(b []byte, labels []Label) []byte {
	for _, l := range labels {
		b = appendLabel(b, l.Name, l.Value)
	}
	return b
}
