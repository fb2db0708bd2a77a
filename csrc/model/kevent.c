/*
 * kevent.c: kqueue(2) and kevent(2) for the jail filters of FreeBSD 15,
 * EVFILT_JAIL and EVFILT_JAILDESC.
 *
 * The knotes live in the host, so that an event caused by any process that
 * shares it (a jail created, changed, attached to, removed) reaches every
 * kqueue watching.  A kqueue is an entry of the host (its owner's pid and a
 * serial) and a FIFO, kq-PID-SERIAL in the host's descriptor directory: the
 * descriptor jailmodel_kqueue() returns is the FIFO opened for reading, and
 * a process that posts an event to one of the kqueue's knotes writes a byte
 * to it, so the descriptor is readable while events are pending, as a
 * kqueue is, and poll(2), select(2) and event loops wait on it.
 *
 * The filters follow kern_jail.c and kern_jaildesc.c: EV_CLEAR is forced;
 * what a knote gathers since it was last read is ORed into its fflags, and a
 * second CHILD or ATTACH before the read sets NOTE_JAIL_MULTI and clears
 * data; REMOVE ends the knote (EV_EOF | EV_ONESHOT), and is dropped when
 * nothing the knote asked for happened.  A kqueue is not inherited across
 * fork: in a child its descriptor is EBADF for kevent.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "model.h"
#include "tree.h"

/* sys/event.h */
#define EV_ADD 0x0001u
#define EV_DELETE 0x0002u
#define EV_ENABLE 0x0004u
#define EV_DISABLE 0x0008u
#define EV_ONESHOT 0x0010u
#define EV_CLEAR 0x0020u
#define EV_RECEIPT 0x0040u
#define EV_ERROR 0x4000u
#define EV_EOF 0x8000u

#define NOTE_JAIL_ASKABLE                                                      \
	(JM_NOTE_JAIL_CHILD | JM_NOTE_JAIL_SET | JM_NOTE_JAIL_ATTACH | JM_NOTE_JAIL_REMOVE)

/* The kqueues this process opened: descriptor -> host entry. */
#define JM_LOCAL_KQ 64
static struct {
	int fd;
	int kq;
	uint32_t serial;
	pid_t pid;
} jm_local[JM_LOCAL_KQ];

static int
kq_name(const struct jm_kq *k, char *out, size_t size)
{
	int n = snprintf(out, size, "kq-%ld-%u", (long)k->pid, k->serial);

	return n > 0 && (size_t)n < size ? 0 : ENAMETOOLONG;
}

static int
nkq(const struct jm_host *h)
{
	return jm_bounded(h->kev.nkq_hint, JM_MAXKQ);
}

static int
nknotes(const struct jm_host *h)
{
	return jm_bounded(h->kev.nknotes_hint, JM_MAXKNOTES);
}

/* Wake kqueue `k`: a byte to its FIFO, if its reader is there. */
static void
kq_wake(struct jm_host *h, int k)
{
	char name[64];
	int dfd, fd;

	if (k < 0 || k >= nkq(h) || h->kev.kqs[k].pid <= 0 ||
	    kq_name(&h->kev.kqs[k], name, sizeof(name)) != 0 || jm_desc_dir(h, &dfd) != 0)
		return;
	/* O_NONBLOCK: ENXIO when nobody reads it, EAGAIN when it is full;
	 * either way there is nobody to wake or a wake-up pending. */
	fd = openat(dfd, name, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	close(dfd);
	if (fd < 0)
		return;
	{
		struct stat st;

		if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode))
			(void)!write(fd, "", 1);
	}
	close(fd);
}

static void
knote_free(struct jm_host *h, int i)
{
	struct jm_knote *kn = &h->kev.knotes[i];

	jm_save(h, kn, sizeof(*kn));
	memset(kn, 0, sizeof(*kn));
	kn->kq = -1;
	jm_save(h, &h->kev, offsetof(struct jm_kev, kqs));
	h->kev.nknotes--;
	while (h->kev.nknotes_hint > 0 && h->kev.knotes[h->kev.nknotes_hint - 1].kq < 0)
		h->kev.nknotes_hint--;
}

/* Record `hint` on a knote (filt_jail, filt_jaildesc): only what it asked
 * for; a second CHILD or ATTACH before the read is MULTI with data 0.  1
 * when the knote has something to report, -1 when a REMOVE found nothing
 * asked for (the event is dropped: the knote goes). */
static int
knote_record(struct jm_host *h, struct jm_knote *kn, uint32_t hint, int64_t data)
{
	jm_save(h, kn, sizeof(*kn));
	if (hint & kn->sfflags) {
		if (hint == JM_NOTE_JAIL_CHILD || hint == JM_NOTE_JAIL_ATTACH) {
			if (kn->data != 0 || (kn->fflags & hint)) {
				kn->fflags |= JM_NOTE_JAIL_MULTI;
				kn->data = 0;
			} else {
				kn->data = data;
			}
		}
		kn->fflags |= hint;
	}
	if (hint == JM_NOTE_JAIL_REMOVE) {
		kn->flags |= EV_EOF | EV_ONESHOT;
		if (kn->fflags == 0)
			return -1;
	}
	if (kn->fflags == 0)
		return 0;
	kn->active = 1;
	return 1;
}

void
jm_knote(struct jm_host *h, int slot, uint32_t hint, int64_t data)
{
	int n;

	if (h->kev.nknotes <= 0)
		return;
	n = nknotes(h);
	for (int i = 0; i < n; i++) {
		struct jm_knote *kn = &h->kev.knotes[i];
		int r;

		if (kn->kq < 0 || kn->slot != slot || kn->gen != h->prisons[slot].gen)
			continue;
		r = knote_record(h, kn, hint, data);
		if (r < 0)
			knote_free(h, i);
		else if (r > 0)
			kq_wake(h, kn->kq);
	}
}

void
jm_kev_init(struct jm_host *h)
{
	int n = h->kev.nkq_hint > 0 && h->kev.nkq_hint <= JM_MAXKQ ? h->kev.nkq_hint : 0;
	char name[64];
	int dfd;

	/* The FIFOs of the kqueues the host had. */
	if (n > 0 && jm_desc_dir(h, &dfd) == 0) {
		for (int k = 0; k < n; k++)
			if (h->kev.kqs[k].pid > 0 && kq_name(&h->kev.kqs[k], name, sizeof(name)) == 0)
				(void)unlinkat(dfd, name, 0);
		close(dfd);
	}
	memset(&h->kev, 0, offsetof(struct jm_kev, kqs));
	memset(h->kev.kqs, 0, sizeof(h->kev.kqs));
	for (int i = 0; i < JM_MAXKNOTES; i++)
		h->kev.knotes[i].kq = -1;
}

/* Forget kqueue `k` and its knotes; its FIFO goes too. */
static void
kq_free(struct jm_host *h, int k)
{
	char name[64];
	int dfd;

	for (int i = 0; i < nknotes(h); i++)
		if (h->kev.knotes[i].kq == k)
			knote_free(h, i);
	if (kq_name(&h->kev.kqs[k], name, sizeof(name)) == 0 && jm_desc_dir(h, &dfd) == 0) {
		(void)unlinkat(dfd, name, 0);
		close(dfd);
	}
	jm_save(h, &h->kev.kqs[k], sizeof(h->kev.kqs[k]));
	memset(&h->kev.kqs[k], 0, sizeof(h->kev.kqs[k]));
	jm_save(h, &h->kev, offsetof(struct jm_kev, kqs));
	while (h->kev.nkq_hint > 0 && h->kev.kqs[h->kev.nkq_hint - 1].pid == 0)
		h->kev.nkq_hint--;
}

void
jm_kev_sweep(struct jm_host *h)
{
	for (int k = 0; k < nkq(h); k++) {
		pid_t pid = h->kev.kqs[k].pid;

		if (pid != 0 && (pid < 0 || (kill(pid, 0) == -1 && errno == ESRCH)))
			kq_free(h, k);
	}
}

/* This process's kqueue of descriptor fd: its slot in jm_local, or -1. */
static int
local_find(int fd)
{
	for (int i = 0; i < JM_LOCAL_KQ; i++)
		if (jm_local[i].pid == getpid() && jm_local[i].fd == fd && fd >= 0)
			return i;
	return -1;
}

int
jailmodel_kqueue(void)
{
	struct jm_host *h;
	char name[64];
	int k = -1, li = -1, dfd = -1, fd = -1, err = 0;

	if ((h = jm_lock()) == NULL)
		return -1;
	/* This process's table is looked at with the host locked, which
	 * serialises its threads too. */
	for (int i = 0; i < JM_LOCAL_KQ; i++)
		if (jm_local[i].pid != getpid()) {
			li = i;
			break;
		}
	if (li < 0)
		return jm_unlock_ret(h, EMFILE);
	jm_change_begin(h);
	for (int i = 0; i < JM_MAXKQ; i++)
		if (h->kev.kqs[i].pid == 0) {
			k = i;
			break;
		}
	if (k < 0)
		err = ENOMEM;
	else if ((err = jm_desc_dir(h, &dfd)) == 0) {
		struct jm_kq *q = &h->kev.kqs[k];

		jm_save(h, &h->kev, offsetof(struct jm_kev, kqs));
		jm_save(h, q, sizeof(*q));
		q->pid = getpid();
		if (++h->kev.next_serial == 0)
			++h->kev.next_serial;
		q->serial = h->kev.next_serial;
		if (k >= h->kev.nkq_hint)
			h->kev.nkq_hint = k + 1;
		if ((err = kq_name(q, name, sizeof(name))) == 0) {
			(void)unlinkat(dfd, name, 0); /* a leftover of a dead pid */
			if (mkfifoat(dfd, name, 0600) == -1)
				err = errno;
			/* O_RDWR: the FIFO never reads as ended while no writer
			 * has it open. */
			else if ((fd = openat(dfd, name, O_RDWR | O_NONBLOCK | O_NOFOLLOW |
			                                      O_CLOEXEC)) < 0) {
				err = errno;
				(void)unlinkat(dfd, name, 0);
			}
		}
		close(dfd);
	}
	if (err != 0) {
		jm_change_abort(h);
		return jm_unlock_ret(h, err);
	}
	jm_change_commit(h);
	jm_local[li].fd = fd;
	jm_local[li].kq = k;
	jm_local[li].serial = h->kev.kqs[k].serial;
	jm_local[li].pid = getpid();
	if (jm_unlock(h) != 0) {
		jm_local[li].pid = 0;
		close(fd);
		return -1;
	}
	return fd;
}

int
jailmodel_kqueue_close(int fd)
{
	struct jm_host *h;
	int li;

	if ((h = jm_lock()) == NULL) {
		/* No host to tell: the descriptor is closed all the same. */
		if ((li = local_find(fd)) >= 0) {
			jm_local[li].pid = 0;
			close(fd);
		}
		return -1;
	}
	if ((li = local_find(fd)) < 0)
		return jm_unlock_ret(h, EBADF);
	jm_local[li].pid = 0;
	close(fd);
	jm_change_begin(h);
	if (jm_local[li].kq < nkq(h) && h->kev.kqs[jm_local[li].kq].pid == getpid() &&
	    h->kev.kqs[jm_local[li].kq].serial == jm_local[li].serial)
		kq_free(h, jm_local[li].kq);
	jm_change_commit(h);
	return jm_unlock(h);
}

/* Resolve a registration: the prison it watches (slot, gen), or an errno;
 * *dead when a descriptor's jail is already gone. */
static int
kn_target(struct jm_host *h, const struct jailmodel_kevent *kev, int *slot, uint32_t *gen,
    int *dead)
{
	int mypr = jm_caller_prison(h), s;

	*dead = 0;
	if (kev->filter == JAILMODEL_EVFILT_JAIL) {
		if (kev->ident == 0)
			s = mypr;
		else if (kev->ident > JM_JAIL_MAX)
			return ENOENT;
		else
			s = jm_find_child_jid(h, mypr, (int)kev->ident);
		if (s < 0 || h->prisons[s].state != JM_PRISON_STATE_ALIVE)
			return ENOENT;
		*slot = s;
		*gen = h->prisons[s].gen;
		return 0;
	}
	if (kev->ident > INT32_MAX)
		return EBADF;
	if (jm_desc_target(h, (int)kev->ident, &s, gen) != 0)
		return EBADF;
	if (s < 0 || h->prisons[s].state != JM_PRISON_STATE_ALIVE)
		*dead = 1;
	*slot = s;
	return 0;
}

static int
kn_find(const struct jm_host *h, int k, uint32_t serial, const struct jailmodel_kevent *kev)
{
	for (int i = 0; i < nknotes(h); i++) {
		const struct jm_knote *kn = &h->kev.knotes[i];

		if (kn->kq == k && kn->kq_serial == serial && kn->filter == kev->filter &&
		    kn->ident == (uint64_t)kev->ident)
			return i;
	}
	return -1;
}

/* One change of the changelist: 0 or the errno. */
static int
kn_change(struct jm_host *h, int k, uint32_t serial, const struct jailmodel_kevent *kev)
{
	struct jm_knote *kn;
	int i, slot, dead, err;
	uint32_t gen;

	if (kev->filter != JAILMODEL_EVFILT_JAIL && kev->filter != JAILMODEL_EVFILT_JAILDESC)
		return EINVAL;
	if (h->g.version < 15)
		return EINVAL; /* 14.x has no such filter */
	i = kn_find(h, k, serial, kev);
	if (kev->flags & EV_DELETE) {
		if (i < 0)
			return ENOENT;
		knote_free(h, i);
		return 0;
	}
	if (!(kev->flags & EV_ADD)) {
		return i < 0 ? ENOENT : 0;
	}
	if (i >= 0) {
		/* A knote already there keeps what it gathered. */
		kn = &h->kev.knotes[i];
		jm_save(h, kn, sizeof(*kn));
		kn->sfflags = kev->fflags & NOTE_JAIL_ASKABLE;
		kn->udata = (uint64_t)(uintptr_t)kev->udata;
		return 0;
	}
	if ((err = kn_target(h, kev, &slot, &gen, &dead)) != 0)
		return err;
	{
		for (i = 0; i < JM_MAXKNOTES && h->kev.knotes[i].kq >= 0; i++)
			;
		if (i == JM_MAXKNOTES)
			return ENOMEM;
		jm_save(h, &h->kev, offsetof(struct jm_kev, kqs));
		h->kev.nknotes++;
		if (i >= h->kev.nknotes_hint)
			h->kev.nknotes_hint = i + 1;
	}
	kn = &h->kev.knotes[i];
	jm_save(h, kn, sizeof(*kn));
	memset(kn, 0, sizeof(*kn));
	kn->kq = k;
	kn->kq_serial = serial;
	kn->slot = dead ? -1 : slot;
	kn->gen = gen;
	kn->filter = kev->filter;
	kn->ident = (uint64_t)kev->ident;
	kn->udata = (uint64_t)(uintptr_t)kev->udata;
	kn->sfflags = kev->fflags & NOTE_JAIL_ASKABLE;
	/* A descriptor of a jail that is gone reports its removal at once
	 * (filt_jaildesc's first look). */
	if (dead) {
		if (knote_record(h, kn, JM_NOTE_JAIL_REMOVE, 0) < 0)
			knote_free(h, i);
		else
			kq_wake(h, k);
	}
	return 0;
}

/* Copy out the active knotes of kqueue k: how many. */
static int
kn_collect(struct jm_host *h, int k, uint32_t serial, struct jailmodel_kevent *out, int nout)
{
	int n = 0;

	for (int i = 0; i < nknotes(h) && n < nout; i++) {
		struct jm_knote *kn = &h->kev.knotes[i];
		struct jailmodel_kevent *ev = &out[n];

		if (kn->kq != k || kn->kq_serial != serial || !kn->active)
			continue;
		memset(ev, 0, sizeof(*ev));
		ev->ident = (uintptr_t)kn->ident;
		ev->filter = kn->filter;
		ev->flags = (unsigned short)(EV_ADD | EV_CLEAR | kn->flags);
		ev->fflags = kn->fflags;
		ev->data = kn->data;
		ev->udata = (void *)(uintptr_t)kn->udata;
		n++;
		if (kn->flags & EV_ONESHOT) {
			knote_free(h, i);
			continue;
		}
		/* EV_CLEAR: the state goes once reported. */
		jm_save(h, kn, sizeof(*kn));
		kn->fflags = 0;
		kn->data = 0;
		kn->active = 0;
	}
	return n;
}

static void
drain(int fd)
{
	char buf[256];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

int
jailmodel_kevent(int fd, const struct jailmodel_kevent *changes, int nchanges,
    struct jailmodel_kevent *events, int nevents, const struct timespec *timeout)
{
	struct jm_host *h;
	struct timespec start;
	int li = local_find(fd), k, n = 0, nerr = 0, err = 0;
	uint32_t serial;

	if (li < 0) {
		errno = EBADF;
		return -1;
	}
	if (nchanges < 0 || nevents < 0 || (nchanges > 0 && changes == NULL) ||
	    (nevents > 0 && events == NULL)) {
		errno = nchanges < 0 || nevents < 0 ? EINVAL : EFAULT;
		return -1;
	}
	if (timeout != NULL && (timeout->tv_sec < 0 || timeout->tv_nsec < 0 ||
	                        timeout->tv_nsec >= 1000000000L)) {
		errno = EINVAL;
		return -1;
	}
	k = jm_local[li].kq;
	serial = jm_local[li].serial;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if ((h = jm_lock()) == NULL)
			return -1;
		if (k >= nkq(h) || h->kev.kqs[k].pid != getpid() || h->kev.kqs[k].serial != serial) {
			/* Its entry went with a reset of the host. */
			return jm_unlock_ret(h, EBADF);
		}
		jm_change_begin(h);
		for (int c = 0; c < nchanges; c++) {
			int e = kn_change(h, k, serial, &changes[c]);

			/* kqueue_register's error, or EV_RECEIPT: an EV_ERROR
			 * event when there is room, else the call fails. */
			if (e != 0 || (changes[c].flags & EV_RECEIPT)) {
				if (nerr < nevents) {
					events[nerr] = changes[c];
					events[nerr].flags = EV_ERROR;
					events[nerr].data = e;
					nerr++;
				} else if (e != 0) {
					err = e;
					break;
				}
			}
		}
		nchanges = 0;
		if (err == 0 && nerr == 0 && nevents > 0) {
			drain(fd);
			n = kn_collect(h, k, serial, events, nevents);
		}
		jm_change_commit(h);
		if (jm_unlock(h) != 0)
			return -1;
		if (err != 0) {
			errno = err;
			return -1;
		}
		if (nerr > 0)
			return nerr;
		if (n > 0 || nevents == 0)
			return n;
		/* Nothing yet: wait for a wake-up, within the timeout. */
		{
			struct pollfd pfd = {fd, POLLIN, 0};
			int ms = -1;

			if (timeout != NULL) {
				struct timespec now;
				int64_t left;

				clock_gettime(CLOCK_MONOTONIC, &now);
				left = ((int64_t)timeout->tv_sec - (now.tv_sec - start.tv_sec)) * 1000 +
				    (timeout->tv_nsec - (now.tv_nsec - start.tv_nsec)) / 1000000;
				if (left <= 0)
					return 0;
				ms = left > 1000 ? 1000 : (int)left;
			} else {
				ms = 1000; /* a wake-up from another user cannot reach us */
			}
			if (poll(&pfd, 1, ms) == -1 && errno == EINTR) {
				errno = EINTR;
				return -1;
			}
		}
	}
}
