/*
 * TLS session-ticket keys shared by every worker, made by the master with
 * the kernel's CSPRNG and rotated every `ticket_rotate` seconds; the key
 * before the current one still decrypts, so a ticket lives one to two
 * periods. The keys live in a sealed memfd mapping that is never on disk
 * (not in /dev/shm, locked out of swap, left out of core dumps): workers
 * inherit it over fork, a new binary over exec (USR2), so a ticket from
 * any worker resumes on any other, after a reload and after an upgrade.
 */
#ifndef SLUICE_TLS_TICKETS_H
#define SLUICE_TLS_TICKETS_H

#include <stddef.h>
#include <stdint.h>

#define TKEY_NAME_LEN	16
#define TKEY_AES_LEN	32	/* AES-256-CBC */
#define TKEY_HMAC_LEN	32	/* HMAC-SHA256 */

/* Environment variable naming the store's descriptor in a new master. */
#define TICKETS_ENV_FD	"SLUICE_TICKETS_FD"

struct tkey {
	uint8_t	name[TKEY_NAME_LEN];
	uint8_t	aes[TKEY_AES_LEN];
	uint8_t	hmac[TKEY_HMAC_LEN];
};

/*
 * Master: adopts the store a previous binary handed over (inherit != 0 and
 * TICKETS_ENV_FD set), or makes one with a first key. Rotation every
 * rotate_s seconds. 0, or -1 with err filled (tickets then stay off: full
 * handshakes only).
 */
int	tickets_open(int inherit, uint32_t rotate_s, char *err, size_t errlen);

/* Master: the rotation period after a reload. */
void	tickets_set_period(uint32_t rotate_s);

/*
 * Master: rotates when due (at most once per period even with two masters
 * sharing the store during an upgrade). Returns seconds until the next
 * rotation is due.
 */
double	tickets_tick(void);

/* Master: the store's descriptor, to hand to a new binary; -1 if none. */
int	tickets_fd(void);

/* Rotations done so far (by any master sharing the store). */
uint64_t tickets_rotations(void);

/* Anyone: the key that encrypts new tickets. 0, or -1 if there is no store. */
int	tickets_current(struct tkey *out);

/*
 * Anyone: the key named name, if it still decrypts. Returns 1 for the
 * current key, 2 for the previous one (the ticket should be renewed), 0 for
 * an unknown or expired name, -1 without a store.
 */
int	tickets_find(const uint8_t name[TKEY_NAME_LEN], struct tkey *out);

#endif
