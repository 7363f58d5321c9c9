/*
 * Route access lists (allow / deny): the most specific entry that covers the
 * client address decides, a deny winning over an allow of the same prefix
 * length; with no entry covering it, the address is allowed only if there
 * is no allow list. That is nginx's "first match wins" for lists written
 * most specific first, whatever order the two keys are in.
 *
 * IPv4 is kept as IPv4-mapped IPv6 (::ffff:a.b.c.d), so "10.0.0.0/8"
 * covers a client that arrives as ::ffff:10.1.2.3 on a dual-stack listener.
 * Lookup: one hash probe per distinct prefix length in the lists
 * (typically a handful), never a walk over the entries.
 */
#ifndef SLUICE_ACL_H
#define SLUICE_ACL_H

#include <stdint.h>
#include <sys/socket.h>

#include "common/conf.h"

struct acl;

/* Builds the list; NULL with errno ENOMEM. Entries may overlap and repeat. */
struct acl	*acl_build(const struct cidr_conf *allow, uint32_t nallow,
		    const struct cidr_conf *deny, uint32_t ndeny);
void		 acl_free(struct acl *a);

/* 1 if the address (AF_INET or AF_INET6) may pass, 0 if refused. */
int		 acl_allows(const struct acl *a, const struct sockaddr *sa);

/*
 * sa (AF_INET or AF_INET6) as a 16-byte IPv6 address, IPv4 mapped
 * (::ffff:a.b.c.d). Returns 0, or -1 (all zeros) for another family.
 */
int		 acl_addr16(const struct sockaddr *sa, uint8_t out[16]);

/* The same for a 16-byte address in IPv6 form (IPv4 mapped). */
int		 acl_allows16(const struct acl *a, const uint8_t addr[16]);

#endif
