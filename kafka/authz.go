package kafka

import (
	"errors"
	"fmt"

	"github.com/IBM/sarama"
)

// Operation is a Kafka ACL operation, by the name kafka-acls uses.
type Operation string

// The operations lagwatch needs: Topic Describe (metadata, log offsets),
// Topic Read (reading the record at a group's position, to date old
// backlogs and to tell transaction markers from lag), Topic
// DescribeConfigs (retention and min ISR), Group Describe (list,
// describe, committed offsets) and, optionally, Cluster Describe (to list
// groups the principal may not Describe).
const (
	OpDescribe        Operation = "Describe"
	OpRead            Operation = "Read"
	OpDescribeConfigs Operation = "DescribeConfigs"
)

// The resource types of lagwatch's ACLs, by the names kafka-acls uses in
// its --topic, --group and --cluster options.
const (
	ResourceTopic   = "topic"
	ResourceGroup   = "group"
	ResourceCluster = "cluster"
)

// aclBit is each operation's bit in the authorized-operations bitfield of
// Metadata, DescribeCluster and DescribeGroups (KIP-430): bit n is set
// when AclOperation code n is allowed.
var aclBit = map[Operation]uint{OpRead: 3, OpDescribe: 8, OpDescribeConfigs: 10}

// AuthorizedOps is the KIP-430 bitfield of the operations the principal
// holds on one resource.
type AuthorizedOps int32

// opsUnknown is what a broker answers when it was not asked, or cannot
// tell (kfake, and brokers before Kafka 2.3): INT32_MIN.
const opsUnknown AuthorizedOps = -2147483648

// Known reports whether the broker said which operations are allowed.
func (o AuthorizedOps) Known() bool { return o != opsUnknown && o >= 0 }

// Allows reports whether op is allowed: true while unknown, so that a
// broker that does not say is asked and its answer decides.
func (o AuthorizedOps) Allows(op Operation) bool {
	bit, ok := aclBit[op]
	return !o.Known() || !ok || o&(1<<bit) != 0
}

// ResourceError is Kafka's error for one resource (a group, a topic) of a
// batched request, named so that a summary can count and name the
// resources that failed, and tell missing permissions from other faults.
type ResourceError struct {
	Type string // ResourceTopic or ResourceGroup
	Name string
	// Operation is what the request needed on the resource.
	Operation Operation
	Err       error
}

func (e *ResourceError) Error() string {
	return fmt.Sprintf("%s %s %q: %v", e.Operation, e.Type, e.Name, e.Err)
}

func (e *ResourceError) Unwrap() error { return e.Err }

// Denied reports whether the error is Kafka refusing the operation for
// lack of an ACL.
func (e *ResourceError) Denied() bool { return IsAuthorization(e.Err) }

// IsAuthorization reports whether err is one of Kafka's authorization
// errors: the principal lacks an ACL for the operation.
func IsAuthorization(err error) bool {
	return errors.Is(err, sarama.ErrTopicAuthorizationFailed) ||
		errors.Is(err, sarama.ErrGroupAuthorizationFailed) ||
		errors.Is(err, sarama.ErrClusterAuthorizationFailed)
}

// ResourceErrors lists the ResourceErrors in err's tree (errors.Join and
// %w wrapping), in order.
func ResourceErrors(err error) []*ResourceError {
	var out []*ResourceError
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if re, ok := err.(*ResourceError); ok {
			out = append(out, re)
			return
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

// OtherErrors is err without its ResourceErrors that are denials: the
// faults left once missing permissions are accounted for elsewhere; nil
// when there are none.
func OtherErrors(err error) error {
	if err == nil {
		return nil
	}
	if re, ok := err.(*ResourceError); ok {
		if re.Denied() {
			return nil
		}
		return err
	}
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		var rest []error
		for _, e := range u.Unwrap() {
			if r := OtherErrors(e); r != nil {
				rest = append(rest, r)
			}
		}
		return errors.Join(rest...)
	}
	if len(ResourceErrors(err)) > 0 && OtherErrors(errors.Unwrap(err)) == nil {
		return nil
	}
	return err
}

// IsTopicAuthorization reports whether err is TOPIC_AUTHORIZATION_FAILED.
func IsTopicAuthorization(err error) bool {
	return errors.Is(err, sarama.ErrTopicAuthorizationFailed)
}
