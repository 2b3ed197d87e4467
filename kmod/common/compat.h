/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Differences between the kernels dune supports (6.1 .. 6.12 and Debian's
 * backports).  Feature macros come from Kbuild probing the headers, never
 * from version numbers: distributions backport interface changes.
 */
#ifndef _DUNE_COMPAT_H
#define _DUNE_COMPAT_H

#include <linux/syscore_ops.h>

/*
 * syscore: newer kernels (and Debian's 6.12.1xx) pass a data pointer and
 * register a struct syscore wrapping the ops.
 */
#ifdef DUNE_SYSCORE_HAS_DATA
#define DUNE_SYSCORE_ARG void *data
struct dune_syscore {
	struct syscore sc;
	struct syscore_ops ops;
};
#define DUNE_SYSCORE_INIT(s, r) { .sc = { .ops = NULL }, .ops = { .suspend = s, .resume = r } }
static inline void dune_register_syscore(struct dune_syscore *s)
{
	s->sc.ops = &s->ops;
	register_syscore(&s->sc);
}

static inline void dune_unregister_syscore(struct dune_syscore *s)
{
	unregister_syscore(&s->sc);
}
#else
#define DUNE_SYSCORE_ARG void
struct dune_syscore {
	struct syscore_ops ops;
};
#define DUNE_SYSCORE_INIT(s, r) { .ops = { .suspend = s, .resume = r } }
static inline void dune_register_syscore(struct dune_syscore *s)
{
	register_syscore_ops(&s->ops);
}

static inline void dune_unregister_syscore(struct dune_syscore *s)
{
	unregister_syscore_ops(&s->ops);
}
#endif

#endif /* _DUNE_COMPAT_H */
