package kafka

import (
	"context"
	"errors"
	"fmt"

	"github.com/IBM/sarama"
)

// AuthorizerEnabled reports whether the cluster checks ACLs at all. Kafka
// lists in Metadata only the topics a principal may Describe, so a
// Metadata without topics means either a cluster that has none or a
// principal that may see none; only a cluster with an authorizer can be
// the second. lagwatch asks with a DescribeAcls that matches nothing:
// a broker without an authorizer answers SECURITY_DISABLED, one with an
// authorizer answers (or denies: DescribeAcls needs Cluster Describe).
func (c *Client) AuthorizerEnabled(ctx context.Context) (bool, error) {
	b, ok := c.anyBroker()
	if !ok {
		return false, errors.New("describe ACLs: no broker in the metadata")
	}
	probe := "lagwatch-authorizer-probe"
	req := &sarama.DescribeAclsRequest{Version: 1, AclFilter: sarama.AclFilter{
		Version: 1, ResourceType: sarama.AclResourceTopic, ResourceName: &probe,
		ResourcePatternTypeFilter: sarama.AclPatternLiteral,
		Operation:                 sarama.AclOperationAny, PermissionType: sarama.AclPermissionAny,
	}}
	var resp *sarama.DescribeAclsResponse
	err := c.do(ctx, "DescribeAcls", b, func(b *sarama.Broker) (err error) {
		resp, err = b.DescribeAcls(req)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("describe ACLs on broker %d: %w", b.ID(), err)
	}
	return resp.Err != sarama.ErrSecurityDisabled, nil
}
