/*
 * Route access lists: the most specific entry wins, deny over allow at the
 * same length, IPv4 and IPv4-mapped IPv6 alike, the default with and without
 * an allow list, and a list of 10,000 networks.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/acl.h"

static struct cidr_conf
cidr(const char *text)
{
	struct cidr_conf c;
	char buf[64], *slash;

	memset(&c, 0, sizeof(c));
	snprintf(buf, sizeof(buf), "%s", text);
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, c.addr) == 1) {
		c.family = AF_INET;
		c.prefix = (uint8_t)(slash ? atoi(slash) : 32);
	} else {
		cr_assert_eq(inet_pton(AF_INET6, buf, c.addr), 1, "%s", text);
		c.family = AF_INET6;
		c.prefix = (uint8_t)(slash ? atoi(slash) : 128);
	}
	return c;
}

static int
allows(const struct acl *a, const char *ip)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, ip, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		ss.ss_family = AF_INET;
	} else {
		cr_assert_eq(inet_pton(AF_INET6, ip, &((struct sockaddr_in6 *)&ss)->sin6_addr), 1);
		ss.ss_family = AF_INET6;
	}
	return acl_allows(a, (struct sockaddr *)&ss);
}

Test(acl, most_specific_wins_whatever_the_order)
{
	struct cidr_conf allow[] = { cidr("10.0.0.0/8"), cidr("::1") };
	struct cidr_conf deny[] = { cidr("10.1.2.3"), cidr("0.0.0.0/0"), cidr("10.9.0.0/16") };
	struct acl *a = acl_build(allow, 2, deny, 3);

	cr_assert_not_null(a);
	cr_expect(allows(a, "10.0.0.1"));
	cr_expect(allows(a, "10.1.2.4"));
	cr_expect(!allows(a, "10.1.2.3"), "a /32 deny inside an allowed /8");
	cr_expect(!allows(a, "10.9.200.1"), "a /16 deny inside an allowed /8");
	cr_expect(!allows(a, "192.168.1.1"), "0.0.0.0/0 denies the rest");
	cr_expect(allows(a, "::1"));
	cr_expect(!allows(a, "::2"), "an allow list: no match is refused");
	/* The same client on a dual-stack socket. */
	cr_expect(allows(a, "::ffff:10.0.0.1"));
	cr_expect(!allows(a, "::ffff:10.1.2.3"));
	acl_free(a);
}

Test(acl, deny_wins_at_equal_length_and_defaults)
{
	struct cidr_conf both[] = { cidr("192.0.2.0/24") };
	struct cidr_conf deny[] = { cidr("2001:db8::/32") };
	struct acl *a = acl_build(both, 1, both, 1), *d = acl_build(NULL, 0, deny, 1);

	cr_assert_not_null(a);
	cr_assert_not_null(d);
	cr_expect(!allows(a, "192.0.2.9"), "listed in both: denied");
	cr_expect(!allows(a, "198.51.100.1"), "allow list present: default deny");
	cr_expect(!allows(d, "2001:db8::5"));
	cr_expect(allows(d, "2001:db9::5"), "only a deny list: default allow");
	cr_expect(allows(d, "127.0.0.1"));
	acl_free(a);
	acl_free(d);
}

Test(acl, prefix_edges)
{
	struct cidr_conf allow[] = { cidr("2001:db8:0:0:8000::/65"), cidr("172.16.0.0/12"),
	    cidr("2001:db8::/64") };
	struct cidr_conf deny[] = { cidr("2001:db8::/64") };
	struct acl *a = acl_build(allow, 3, deny, 1);

	cr_assert_not_null(a);
	cr_expect(allows(a, "172.31.255.255"));
	cr_expect(!allows(a, "172.32.0.0"));
	cr_expect(!allows(a, "172.15.255.255"));
	cr_expect(allows(a, "2001:db8::8000:0:0:1"), "the /65 beats the /64 deny");
	cr_expect(!allows(a, "2001:db8::7fff:0:0:1"));
	acl_free(a);
}

/* 10,000 /24s: every listed one allowed, its neighbours refused. */
Test(acl, ten_thousand_networks)
{
	struct cidr_conf *allow = calloc(10000, sizeof(*allow));
	struct acl *a;
	char ip[32];
	int i;

	cr_assert_not_null(allow);
	for (i = 0; i < 10000; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.0/24", (i * 2) / 256, (i * 2) % 256);
		allow[i] = cidr(ip);
	}
	a = acl_build(allow, 10000, NULL, 0);
	cr_assert_not_null(a);
	for (i = 0; i < 10000; i += 97) {
		snprintf(ip, sizeof(ip), "10.%d.%d.77", (i * 2) / 256, (i * 2) % 256);
		cr_expect(allows(a, ip), "%s", ip);
		snprintf(ip, sizeof(ip), "10.%d.%d.77", (i * 2 + 1) / 256, (i * 2 + 1) % 256);
		cr_expect(!allows(a, ip), "%s", ip);
	}
	acl_free(a);
	free(allow);
}

/* IPv4 and IPv6 tables apart: short IPv6 prefixes still cover mapped clients. */
Test(acl, families)
{
	struct cidr_conf all6[] = { cidr("::/0") };
	struct cidr_conf mapped[] = { cidr("::ffff:10.0.0.0/104"), cidr("2001:db8::/64") };
	struct cidr_conf v4[] = { cidr("10.0.0.0/8") };
	struct acl *a = acl_build(all6, 1, NULL, 0), *b = acl_build(mapped, 2, NULL, 0);
	struct acl *c = acl_build(v4, 1, NULL, 0);

	cr_assert_not_null(a);
	cr_assert_not_null(b);
	cr_assert_not_null(c);
	cr_expect(allows(a, "10.1.1.1"), "::/0 covers IPv4 clients too");
	cr_expect(allows(a, "2001::1"));
	cr_expect(allows(b, "10.9.9.9"), "an IPv4 network written as mapped IPv6");
	cr_expect(!allows(b, "11.0.0.1"));
	cr_expect(allows(b, "2001:db8::77"));
	cr_expect(!allows(c, "::a00:1"), "::10.0.0.1 is IPv6, not 10.0.0.1");
	cr_expect(allows(c, "::ffff:10.0.0.1"));
	acl_free(a);
	acl_free(b);
	acl_free(c);
}
