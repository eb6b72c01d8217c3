// SPDX-License-Identifier: GPL-2.0
/*
 * transport_auth.c - the link key and the MACs of the connection
 * handshake (docs/transport.md, "Authentication").
 *
 * The key (XPMEM_IOC_SET_KEY) lives only inside an hmac(sha256) transform,
 * allocated when the key is set, never on a call path: a handshake takes
 * a reference to the current transform and computes with a descriptor on
 * its stack.  Setting a key again swaps the transform; handshakes that
 * hold the old one finish with it.  Nothing reads the key back.
 */
#include <crypto/hash.h>
#include <linux/kref.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "transport_priv.h"

struct xpmem_link_key {
	struct kref kref;
	struct crypto_shash *tfm;
};

static DEFINE_SPINLOCK(xpmem_key_lock);
static struct xpmem_link_key *xpmem_key;	/* under xpmem_key_lock */

static void xpmem_key_release(struct kref *kref)
{
	struct xpmem_link_key *k = container_of(kref, struct xpmem_link_key,
						kref);

	crypto_free_shash(k->tfm);	/* wipes the key schedule */
	kfree(k);
}

void xpmem_key_put(struct xpmem_link_key *k)
{
	if (k)
		kref_put(&k->kref, xpmem_key_release);
}

/* The current key, referenced, or NULL when none is set. */
struct xpmem_link_key *xpmem_key_get(void)
{
	struct xpmem_link_key *k;

	spin_lock(&xpmem_key_lock);
	k = xpmem_key;
	if (k)
		kref_get(&k->kref);
	spin_unlock(&xpmem_key_lock);
	return k;
}

int xpmem_net_set_key(const u8 *key)
{
	struct xpmem_link_key *k = NULL, *old;
	int ret;

	might_sleep();
	if (key) {
		k = kzalloc(sizeof(*k), GFP_KERNEL);
		if (!k)
			return -ENOMEM;
		kref_init(&k->kref);
		k->tfm = crypto_alloc_shash("hmac(sha256)", 0, 0);
		if (IS_ERR(k->tfm)) {
			ret = PTR_ERR(k->tfm);
			kfree(k);
			pr_notice("xpmem: no hmac(sha256) in this kernel (%d)\n",
				  ret);
			return ret;
		}
		ret = crypto_shash_setkey(k->tfm, key, XPMEM_LINK_KEY_LEN);
		if (ret) {
			xpmem_key_put(k);
			return ret;
		}
	}
	spin_lock(&xpmem_key_lock);
	old = xpmem_key;
	xpmem_key = k;
	spin_unlock(&xpmem_key_lock);
	xpmem_key_put(old);
	pr_info("xpmem: link key %s\n", k ? (old ? "replaced" : "set") :
		"cleared");
	return 0;
}

/* Drops the key at module exit. */
void xpmem_key_exit(void)
{
	xpmem_net_set_key(NULL);
}

/*
 * HMAC-SHA256(key, @label || @req || @rep) into @mac.  Never sleeps; may
 * run in a completion handler.
 */
int xpmem_auth_mac(struct xpmem_link_key *k, const char *label,
		   const struct xpmem_wire_conn *req,
		   const struct xpmem_wire_conn *rep,
		   u8 mac[XPMEM_AUTH_MAC_LEN])
{
	SHASH_DESC_ON_STACK(desc, k->tfm);
	int ret;

	desc->tfm = k->tfm;
	ret = crypto_shash_init(desc);
	if (!ret)
		ret = crypto_shash_update(desc, label, strlen(label));
	if (!ret)
		ret = crypto_shash_update(desc, (const u8 *)req, sizeof(*req));
	if (!ret)
		ret = crypto_shash_update(desc, (const u8 *)rep, sizeof(*rep));
	if (!ret)
		ret = crypto_shash_final(desc, mac);
	shash_desc_zero(desc);
	return ret;
}

/* The one log line of a node without a key, rate limited. */
void xpmem_auth_no_key(void)
{
	atomic_inc(&xpmem_net.conn_refused);
	pr_notice_ratelimited("xpmem: no cluster key set\n");
}
