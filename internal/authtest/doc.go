// Package authtest runs the lagwatch binary against a real Kafka broker
// for each way operators authenticate to Kafka beyond user and password:
// SASL/OAUTHBEARER with an OIDC provider the tests serve on loopback, TLS
// client certificates that rotate while lagwatch runs, and (when Debian's
// krb5-kdc is installed) SASL/GSSAPI against an MIT KDC on loopback. One
// broker serves the package, with one listener per mechanism.
package authtest
