package kafka

import (
	"strings"

	"github.com/IBM/sarama"
)

// A user's --kafka.version (kafka_exporter's flag, whose default there is
// 2.0.0) is a cap on the protocol versions lagwatch asks for. Since v1.46
// sarama reads each broker's ApiVersions and lowers every request to what
// that broker speaks, so the cap is never needed for safety, and it must
// not decide how a group is read: below 3.8 ListGroups (v5) does not say a
// group's type, and a KIP-848 group read as classic is Dead with 0
// members. So the group requests (ListGroups, DescribeGroups,
// ConsumerGroupDescribe, OffsetFetch) always ask for the newest version
// and the broker's ApiVersions alone decide; the cap applies to the
// others, and CapLosses names what it costs there.

// groupRequestsVersion is the version the group requests are built for,
// before each broker lowers them to what it speaks.
var groupRequestsVersion = sarama.MaxVersion

// versionLoss is what lagwatch cannot learn when the cap is below since.
type versionLoss struct {
	since sarama.KafkaVersion
	lost  string
}

// versionLosses are the requests that honour the cap, by the version
// from which they carry what lagwatch reads.
var versionLosses = []versionLoss{
	{sarama.V0_11_0_0, "the age of records and transaction markers (Fetch of v2 record batches) and the last stable offset (ListOffsets v2): no lag in seconds, and lag counted past open transactions"},
	{sarama.V2_3_0_0, "the operations lagwatch may do on each topic (Metadata v8, KIP-430): missing ACLs are found only by denied requests"},
}

// CapLosses names what a --kafka.version cap of v keeps lagwatch from
// reading, in one phrase; "" when nothing.
func CapLosses(limit Version) string {
	v := limit.kafkaVersion()
	var lost []string
	for _, l := range versionLosses {
		if !v.IsAtLeast(l.since) {
			lost = append(lost, l.lost+" (needs "+l.since.String()+")")
		}
	}
	return strings.Join(lost, "; ")
}
