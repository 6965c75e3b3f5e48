package collector

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lagwatch/lagwatch/kafka"
)

// Kafka answers a missing ACL in one of two ways: it silently leaves the
// resource out (Metadata and ListGroups list only what the principal may
// Describe) or it denies the request for the resource. access keeps what
// the denials and the topics' authorized operations (KIP-430) taught, so
// that a poll does not ask again for what it will be denied: each denied
// request is a line in the broker's authorizer log, and retrying every
// poll would add one per poll. Denied resources are asked again after
// recheckDenied, so a grant is noticed within that time.
type access struct {
	// mu guards the maps: the poll's stages run concurrently.
	mu sync.Mutex
	// denied is, per permission, the resources denied and until when they
	// are not asked again.
	denied map[permission]map[string]time.Time
	// describeSkipped are groups of the consumer protocol that fail to be
	// described because they subscribe to a topic the principal may not
	// Describe: their committed offsets are still fetched.
	describeSkipped map[string]time.Time
	// logged is what the last log line per permission said.
	logged map[permission]string
}

// permission is an operation on a type of resource.
type permission struct {
	Type      string
	Operation kafka.Operation
}

// The permissions lagwatch needs, in the order they are reported.
var (
	permTopicDescribe        = permission{kafka.ResourceTopic, kafka.OpDescribe}
	permTopicRead            = permission{kafka.ResourceTopic, kafka.OpRead}
	permTopicDescribeConfigs = permission{kafka.ResourceTopic, kafka.OpDescribeConfigs}
	permGroupDescribe        = permission{kafka.ResourceGroup, kafka.OpDescribe}
	// permGroupTopicDescribe is Topic Describe on a topic a group of the
	// consumer protocol subscribes to: without it the group is not described.
	permGroupTopicDescribe = permission{"subscribed_topic", kafka.OpDescribe}
)

// Permissions lists what lagwatch reports access for.
var Permissions = []permission{permTopicDescribe, permTopicRead, permTopicDescribeConfigs, permGroupDescribe}

// whatIsLost says, per permission, what lagwatch cannot tell without it.
var whatIsLost = map[permission]string{
	permTopicDescribe:        "lagwatch sees no topic: no offsets, no partition health, and lagwatch_up is 0",
	permTopicRead:            "lag seconds of backlogs older than the history are lower bounds (kafka_consumergroup_lag_seconds_lower_bound), and transaction markers may count as lag",
	permTopicDescribeConfigs: "no retention or min ISR configs: no retention headroom, no under-min-ISR",
	permGroupDescribe:        "these groups are not reported; those lagwatch reported before are served as of their last answer until --kafka.stale-after, and lagwatch_up is 0 meanwhile",
	permGroupTopicDescribe:   "these groups' members and assignment are not reported (their committed offsets are)",
}

// recheckDenied is how long a denied resource is not asked again.
const recheckDenied = 5 * time.Minute

func newAccess() *access {
	return &access{denied: map[permission]map[string]time.Time{}, describeSkipped: map[string]time.Time{}, logged: map[permission]string{}}
}

// isDenied reports whether the resource was denied and is not due to be
// asked again.
func (a *access) isDenied(p permission, name string, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	until, ok := a.denied[p][name]
	return ok && now.Before(until)
}

// learn records the denials among err's resource errors.
func (a *access) learn(err error, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, re := range kafka.ResourceErrors(err) {
		if !re.Denied() {
			continue
		}
		p := permission{re.Type, re.Operation}
		// A consumer-protocol group denied for a topic it subscribes to
		// is itself describable; only its description is skipped.
		if re.Type == kafka.ResourceGroup && kafka.IsTopicAuthorization(re.Err) {
			a.describeSkipped[re.Name] = now.Add(recheckDenied)
			p = permGroupTopicDescribe
		}
		if a.denied[p] == nil {
			a.denied[p] = map[string]time.Time{}
		}
		a.denied[p][re.Name] = now.Add(recheckDenied)
	}
}

// allow forgets a denial of p on the resource: Kafka showed it allows it.
func (a *access) allow(p permission, name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.denied[p], name)
}

// setWildcard records, or clears, that p is denied on every resource of
// its type ("*"): Kafka hides them all, so there is no name to give.
func (a *access) setWildcard(p permission, denied bool, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !denied {
		delete(a.denied[p], "*")
		return
	}
	if a.denied[p] == nil {
		a.denied[p] = map[string]time.Time{}
	}
	a.denied[p]["*"] = now.Add(recheckDenied)
}

// describeSkippedFor reports whether the group's description is skipped.
func (a *access) describeSkippedFor(group string, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	until, ok := a.describeSkipped[group]
	return ok && now.Before(until)
}

// deniedCount is how many resources are denied p now.
func (a *access) deniedCount(p permission, now time.Time) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.deniedNames(p, now))
}

// deniedNames lists the resources denied p now, sorted. Callers hold a.mu.
func (a *access) deniedNames(p permission, now time.Time) []string {
	var out []string
	for name, until := range a.denied[p] {
		if now.Before(until) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// expire drops the denials that are due to be asked again.
func (a *access) expire(now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for p, m := range a.denied {
		for name, until := range m {
			if !now.Before(until) {
				delete(m, name)
			}
		}
		if len(m) == 0 {
			delete(a.denied, p)
		}
	}
	for name, until := range a.describeSkipped {
		if !now.Before(until) {
			delete(a.describeSkipped, name)
		}
	}
}

// setFromOps replaces the denials of p over topics with what their
// authorized operations say, where the broker said.
func (a *access) setFromOps(p permission, topics []kafka.TopicMetadata, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, t := range topics {
		if !t.AuthorizedOps.Known() {
			continue
		}
		if t.AuthorizedOps.Allows(p.Operation) {
			delete(a.denied[p], t.Name)
			continue
		}
		if a.denied[p] == nil {
			a.denied[p] = map[string]time.Time{}
		}
		// Known from the metadata every poll: never asked, never stale.
		a.denied[p][t.Name] = now.Add(recheckDenied)
	}
}

// Access is, per permission, how many resources lagwatch was allowed and
// denied in the last poll; Denied -1 where Kafka does not say (it hides
// topics and groups the principal may not Describe).
type Access struct {
	ResourceType string
	Operation    string
	Allowed      int
	Denied       int
}

// logChanges writes one line per permission whose denials changed: how
// many resources, the first few names, what is lost, and the kafka-acls
// grant that would fix it. The line's length does not grow with the
// cluster, and it is not repeated while nothing changes.
func (a *access) logChanges(logger *slog.Logger, principal, bootstrap string, now time.Time, blind bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, p := range append(slices.Clone(Permissions), permGroupTopicDescribe) {
		names := a.deniedNames(p, now)
		if p == permTopicDescribe && blind {
			names = []string{"*"}
		}
		said := fmt.Sprint(len(names), firstNames(names, 3))
		if said == a.logged[p] || (len(names) == 0 && a.logged[p] == "") {
			continue
		}
		a.logged[p] = said
		if len(names) == 0 {
			logger.Info("Kafka allows the operation again", "operation", p.Operation, "resource_type", p.Type)
			delete(a.logged, p)
			continue
		}
		msg := fmt.Sprintf("Kafka denies lagwatch %s on %d %s(s) (%s): %s", p.Operation, len(names), p.Type, firstNames(names, 3), whatIsLost[p])
		switch p {
		case permTopicDescribe:
			msg = "Metadata lists no topic: the principal may Describe none (or the cluster has none): " + whatIsLost[p]
		case permGroupDescribe:
			if len(names) == 1 && names[0] == "*" {
				msg = errNoGroupVisible.Error() + ": " + whatIsLost[p]
			}
		case permGroupTopicDescribe:
			msg = fmt.Sprintf("Kafka denies lagwatch Describe on a topic that %d group(s) of the consumer protocol subscribe to (%s): %s", len(names), firstNames(names, 3), whatIsLost[p])
		}
		logger.Warn(msg, "operation", p.Operation, "resource_type", p.Type, "denied", len(names), "grant", grantCommand(p, names, principal, bootstrap))
	}
}

// firstNames is the first n names and how many more there are.
func firstNames(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:n], ", "), len(names)-n)
}

// grantCommand is the kafka-acls command that grants p on names: one
// literal resource, the common prefix of several, or every resource.
func grantCommand(p permission, names []string, principal, bootstrap string) string {
	typ := p.Type
	if p == permGroupTopicDescribe {
		typ = kafka.ResourceTopic
	}
	resource := "--" + typ + " '*'"
	switch prefix := commonPrefix(names); {
	case p == permGroupTopicDescribe:
		resource = "--" + typ + " <the topics these groups subscribe to>"
	case len(names) == 1 && names[0] != "*":
		resource = "--" + typ + " '" + names[0] + "'"
	case len(prefix) >= 2:
		resource = "--resource-pattern-type prefixed --" + typ + " '" + prefix + "'"
	}
	return fmt.Sprintf("kafka-acls --bootstrap-server %s --add --allow-principal '%s' --operation %s %s", bootstrap, principal, p.Operation, resource)
}

func commonPrefix(names []string) string {
	if len(names) == 0 {
		return ""
	}
	prefix := names[0]
	for _, n := range names[1:] {
		for !strings.HasPrefix(n, prefix) {
			prefix = prefix[:len(prefix)-1]
		}
	}
	return prefix
}

// withoutDeniedGroups leaves out the groups Kafka denied lagwatch and
// that are not due to be asked again: with Cluster Describe, ListGroups
// names groups the principal may not Describe, and each would be denied
// every poll.
func (p *Poller) withoutDeniedGroups(listed []kafka.ListedGroup, now time.Time) []kafka.ListedGroup {
	return slices.DeleteFunc(listed, func(g kafka.ListedGroup) bool { return p.access.isDenied(permGroupDescribe, g.Name, now) })
}

// describable leaves out the groups whose description is skipped.
func (p *Poller) describable(listed []kafka.ListedGroup, now time.Time) []kafka.ListedGroup {
	return slices.DeleteFunc(slices.Clone(listed), func(g kafka.ListedGroup) bool { return p.access.describeSkippedFor(g.Name, now) })
}

// withoutDeniedReads leaves out the offsets on topics the principal may
// not Read.
func (p *Poller) withoutDeniedReads(offsets []kafka.TopicPartitionOffset) []kafka.TopicPartitionOffset {
	now := p.cfg.Now()
	return slices.DeleteFunc(offsets, func(o kafka.TopicPartitionOffset) bool { return p.access.isDenied(permTopicRead, o.Topic, now) })
}
