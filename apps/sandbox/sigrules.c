// SPDX-License-Identifier: GPL-2.0
/*
 * Linux's x86-64 signal rules, for signal.c (see sigrules.h).
 */
#include "sigrules.h"

#define RED_ZONE	128
#define FIX_EFLAGS	0x50dd5UL	/* AC OF DF TF SF ZF AF PF CF RF */

bool sb_restart_call(long r, bool handler, bool sa_restart)
{
	if (!handler || r == -SB_ERESTARTNOINTR)
		return true;
	if (r == -SB_ERESTARTSYS)
		return sa_restart;
	return false;
}

uint64_t sb_sigreturn_rflags(uint64_t cur, uint64_t from_frame)
{
	return (cur & ~FIX_EFLAGS) | (from_frame & FIX_EFLAGS);
}

uintptr_t sb_signal_frame(uintptr_t rsp, size_t frame_size, size_t fp_size, uintptr_t *fp)
{
	*fp = (rsp - RED_ZONE - fp_size) & ~(uintptr_t)63;
	return ((*fp - frame_size) & ~(uintptr_t)15) - 8;
}
