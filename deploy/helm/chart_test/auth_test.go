package charttest

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// mountedFiles maps each volume mount's path to the Secret or ConfigMap
// key behind it, as "secret:<name>/<key>" or "configMap:<name>/<key>".
func mountedFiles(t *testing.T, r *rendered) map[string]string {
	t.Helper()
	vols := map[string]corev1.Volume{}
	for _, v := range r.podSpec(t).Volumes {
		vols[v.Name] = v
	}
	files := map[string]string{}
	for _, m := range r.container(t).VolumeMounts {
		if !m.ReadOnly {
			t.Errorf("mount %s is writable", m.Name)
		}
		v := vols[m.Name]
		switch {
		case v.Secret != nil:
			for _, it := range v.Secret.Items {
				files[m.MountPath+"/"+it.Path] = "secret:" + v.Secret.SecretName + "/" + it.Key
			}
		case v.ConfigMap != nil:
			for _, it := range v.ConfigMap.Items {
				files[m.MountPath+"/"+it.Path] = "configMap:" + v.ConfigMap.Name + "/" + it.Key
			}
		}
	}
	return files
}

func requireArgs(t *testing.T, r *rendered, want ...string) {
	t.Helper()
	args := r.container(t).Args
	for _, a := range want {
		if !slices.Contains(args, a) {
			t.Errorf("missing %s in %q", a, args)
		}
	}
}

func TestOAuthBearerClientSecretAndTokenEndpointCAComeFromExistingSecrets(t *testing.T) {
	r := mustRender(t, values(t, append(oneCluster,
		"sasl.enabled=true", "sasl.mechanism=oauthbearer", "sasl.username=lagwatch-client",
		"sasl.passwordSecret.name=oidc-client", "sasl.passwordSecret.key=client-secret",
		"sasl.oauthbearer.tokenUrl=https://idp.example/oauth2/token",
		"sasl.oauthbearer.scopes={kafka}", "sasl.oauthbearer.extraParams.audience=kafka",
		"sasl.oauthbearer.caSecret.name=idp-ca",
	)...))
	requireArgs(t, r, "--sasl.mechanism=oauthbearer", "--sasl.username=lagwatch-client",
		"--sasl.password-file=/etc/lagwatch/sasl/password",
		"--sasl.oauthbearer-token-url=https://idp.example/oauth2/token",
		"--sasl.oauthbearer-scope=kafka", "--sasl.oauthbearer-extra-param=audience=kafka",
		"--sasl.oauthbearer-ca-file=/etc/lagwatch/oauthbearer/ca.crt")
	files := mountedFiles(t, r)
	if files["/etc/lagwatch/sasl/password"] != "secret:oidc-client/client-secret" || files["/etc/lagwatch/oauthbearer/ca.crt"] != "secret:idp-ca/ca.crt" {
		t.Errorf("mounted files %v", files)
	}
}

func TestOAuthBearerTokenFileNeedsNoUserOrSecret(t *testing.T) {
	r := mustRender(t, values(t, append(oneCluster,
		"sasl.enabled=true", "sasl.mechanism=oauthbearer", "sasl.oauthbearer.tokenFile=/var/run/tokens/kafka",
	)...))
	requireArgs(t, r, "--sasl.oauthbearer-token-file=/var/run/tokens/kafka")
	for _, a := range r.container(t).Args {
		if strings.HasPrefix(a, "--sasl.username") || strings.HasPrefix(a, "--sasl.password") {
			t.Errorf("token file mode passes %s", a)
		}
	}
}

func TestGSSAPIKeytabAndKrb5ConfComeFromAnExistingSecretAndConfigMap(t *testing.T) {
	r := mustRender(t, values(t, append(oneCluster,
		"sasl.enabled=true", "sasl.mechanism=gssapi", "sasl.username=lagwatch",
		"sasl.gssapi.realm=CORP.EXAMPLE", "sasl.gssapi.serviceName=kafka",
		"sasl.gssapi.krb5ConfigMap.name=krb5", "sasl.gssapi.keytabSecret.name=lagwatch-keytab",
	)...))
	requireArgs(t, r, "--sasl.mechanism=gssapi", "--sasl.username=lagwatch", "--sasl.realm=CORP.EXAMPLE",
		"--sasl.service-name=kafka", "--sasl.kerberos-config-path=/etc/lagwatch/krb5/krb5.conf",
		"--sasl.kerberos-auth-type=keytabAuth", "--sasl.keytab-path=/etc/lagwatch/keytab/keytab")
	files := mountedFiles(t, r)
	if files["/etc/lagwatch/krb5/krb5.conf"] != "configMap:krb5/krb5.conf" || files["/etc/lagwatch/keytab/keytab"] != "secret:lagwatch-keytab/keytab" {
		t.Errorf("mounted files %v", files)
	}
	if _, ok := files["/etc/lagwatch/sasl/password"]; ok {
		t.Error("a keytab login mounts a password too")
	}
}

func TestAWSIAMOnEKSTakesItsRoleFromTheServiceAccountAnnotation(t *testing.T) {
	const role = "arn:aws:iam::123456789012:role/lagwatch"
	r := mustRender(t, values(t, append(oneCluster,
		"tls.enabled=true", "sasl.enabled=true", "sasl.mechanism=awsiam", "sasl.awsiam.region=eu-west-1",
		"serviceAccount.create=true", `serviceAccount.annotations.eks\.amazonaws\.com/role-arn=`+role,
	)...))
	requireArgs(t, r, "--tls.enabled", "--sasl.mechanism=awsiam", "--sasl.aws-region=eu-west-1")
	for _, a := range r.container(t).Args {
		if strings.HasPrefix(a, "--sasl.username") || strings.HasPrefix(a, "--sasl.password") {
			t.Errorf("awsiam passes %s", a)
		}
	}
	if len(r.serviceAccounts) != 1 || r.serviceAccounts[0].Annotations["eks.amazonaws.com/role-arn"] != role {
		t.Fatalf("service accounts %+v: want one annotated with the role", r.serviceAccounts)
	}
	if got := r.podSpec(t).ServiceAccountName; got != r.serviceAccounts[0].Name {
		t.Errorf("pods run as %q, want the chart's ServiceAccount %q", got, r.serviceAccounts[0].Name)
	}
}

func TestWithoutItsOwnServiceAccountThePodsRunAsTheNamespaceDefault(t *testing.T) {
	r := mustRender(t, values(t, append(oneCluster, "serviceAccount.create=false")...))
	if len(r.serviceAccounts) != 0 || r.podSpec(t).ServiceAccountName != "default" {
		t.Fatalf("service accounts %d, pods run as %q; want none and the namespace default", len(r.serviceAccounts), r.podSpec(t).ServiceAccountName)
	}
}
