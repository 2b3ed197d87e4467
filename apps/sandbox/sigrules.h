/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The rules of Linux's x86-64 signal delivery that dune-sandbox follows
 * (signal.c), as plain functions without libdune, for unit tests
 * (tests/unit/test_sigrules.c).
 */
#ifndef DUNE_SANDBOX_SIGRULES_H
#define DUNE_SANDBOX_SIGRULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The kernel's restart codes (include/linux/errno.h, not exported). */
#define SB_ERESTARTSYS		512
#define SB_ERESTARTNOINTR	513
#define SB_ERESTARTNOHAND	514
#define SB_ERESTART_RESTARTBLOCK	516

static inline bool sb_is_restart_code(long r)
{
	return r <= -SB_ERESTARTSYS && r >= -SB_ERESTART_RESTARTBLOCK;
}

/*
 * Restart the interrupted call (true) or fail it with EINTR (false), as
 * handle_signal() and arch_do_signal_or_restart() decide: with a handler
 * to run, ERESTARTSYS restarts only under SA_RESTART, ERESTARTNOHAND and
 * ERESTART_RESTARTBLOCK never; ERESTARTNOINTR always; without a handler
 * to run, every code restarts.
 */
bool sb_restart_call(long r, bool handler, bool sa_restart);

/* RFLAGS after rt_sigreturn: only the bits a frame may change (the
 * kernel's FIX_EFLAGS: AC OF DF TF SF ZF AF PF CF RF) come from it. */
uint64_t sb_sigreturn_rflags(uint64_t cur, uint64_t from_frame);

/*
 * Where a signal frame of @frame_size bytes and its @fp_size-byte FPU image
 * go below @rsp: past the 128-byte red zone, the image 64-byte aligned, the
 * frame so that the handler starts with (RSP + 8) 16-byte aligned, as after
 * a CALL.  Returns the frame's address; *@fp gets the image's.
 */
uintptr_t sb_signal_frame(uintptr_t rsp, size_t frame_size, size_t fp_size, uintptr_t *fp);

#endif /* DUNE_SANDBOX_SIGRULES_H */
