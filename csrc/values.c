/*
 * values.c: the prepared calls' values as Python objects, made in C.
 *
 * cffi makes no Python objects, so this is Python's C API (the stable ABI
 * of 3.10, as cffi's own module is built), in the same extension;
 * jc_values_install() adds these functions to jailcore._native, and
 * jailcore/_backend.py calls it at import:
 *
 *   values_plan(entries, call, size) -> capsule    a jail_get plan, once
 *   get_call(plan, key, backend, flags)            the call and its values
 *   values(plan, address) -> dict                  the values of a call made
 *                                                  through a wrapped seam
 *   set_plan(slots, nslots, encoders, tail)        a jail_set plan, once
 *   set_call(plan, values, head, backend, flags)   its values encoded, the call
 *
 * For jail_get, each entry says where one value is in the plan's buffer
 * (csrc/prepared.c lays it out) and how it is made: (name, kind, offset,
 * length offset, size, function or None; for JV_V4 and JV_V6 the address
 * class, for JV_JAILSYS the three JailSys members).  The returned lengths
 * are the uint32 that jc_get_gather writes, each at most its slot's size.
 */
#define PY_SSIZE_T_CLEAN
#define Py_LIMITED_API 0x030A0000
#include <Python.h>

#include <stdint.h>
#include <string.h>

#include "jailcore.h"

struct jv_entry {
	PyObject *name; /* the dict's key */
	PyObject *fn;   /* the maker or decoder, or NULL */
	Py_ssize_t off; /* the value's offset in the buffer */
	Py_ssize_t lenoff; /* its returned length's offset */
	Py_ssize_t size;   /* an address's size, for JV_ADDRS */
	int kind;
};

#define JV_SPARES 4 /* buffers a plan keeps between calls */

struct jv_plan {
	const struct jc_get_plan *call; /* the call's layout (prepared.c), or NULL */
	size_t bufsize;                 /* the size of a call's buffer */
	char *spare[JV_SPARES];         /* buffers no call is using (under the GIL) */
	int nspare;
	Py_ssize_t n;
	struct jv_entry e[];
};

static const char jv_capsule[] = "jailcore.values_plan";

static void
jv_plan_free(PyObject *capsule)
{
	struct jv_plan *p = PyCapsule_GetPointer(capsule, jv_capsule);

	if (p == NULL)
		return;
	for (Py_ssize_t i = 0; i < p->n; i++) {
		Py_XDECREF(p->e[i].name);
		Py_XDECREF(p->e[i].fn);
	}
	for (int i = 0; i < p->nspare; i++)
		PyMem_Free(p->spare[i]);
	PyMem_Free(p);
}

static PyObject *
jv_values_plan(PyObject *self, PyObject *args)
{
	PyObject *entries, *capsule;
	unsigned long long call = 0;
	Py_ssize_t n, bufsize = 0;
	struct jv_plan *p;

	(void)self;
	if (!PyArg_ParseTuple(args, "O!|Kn:values_plan", &PyTuple_Type, &entries, &call, &bufsize))
		return NULL;
	if (call != 0 && bufsize <= 0) {
		PyErr_SetString(PyExc_ValueError, "values_plan: a call needs its buffer's size");
		return NULL;
	}
	n = PyTuple_Size(entries);
	p = PyMem_Calloc(1, sizeof(*p) + (size_t)n * sizeof(p->e[0]));
	if (p == NULL)
		return PyErr_NoMemory();
	p->call = (const struct jc_get_plan *)(uintptr_t)call;
	p->bufsize = (size_t)bufsize;
	capsule = PyCapsule_New(p, jv_capsule, jv_plan_free);
	if (capsule == NULL) {
		PyMem_Free(p);
		return NULL;
	}
	for (Py_ssize_t i = 0; i < n; i++) {
		struct jv_entry *e = &p->e[i];
		PyObject *name, *fn;

		if (!PyArg_ParseTuple(PyTuple_GetItem(entries, i), "UinnnO:values_plan entry", &name,
		    &e->kind, &e->off, &e->lenoff, &e->size, &fn)) {
			Py_DECREF(capsule);
			return NULL;
		}
		if (e->kind < JV_I32 || e->kind > JV_V6 || e->off < 0 || e->lenoff < 0 ||
		    (p->bufsize > 0 && ((size_t)e->off + 8 > p->bufsize ||
		                        (size_t)e->lenoff + 4 > p->bufsize)) ||
		    (e->kind == JV_ADDRS && e->size <= 0) ||
		    (e->kind == JV_V4 && (e->size != 4 || !PyType_Check(fn))) ||
		    (e->kind == JV_V6 && (e->size != 16 || !PyType_Check(fn))) ||
		    (e->kind == JV_JAILSYS && (!PyTuple_Check(fn) || PyTuple_Size(fn) != 3)) ||
		    ((e->kind >= JV_JAILSYS) != (fn != Py_None))) {
			PyErr_SetString(PyExc_ValueError, "values_plan: a bad entry");
			Py_DECREF(capsule);
			return NULL;
		}
		Py_INCREF(name);
		e->name = name;
		if (fn != Py_None) {
			Py_INCREF(fn);
			e->fn = fn;
		}
		p->n = i + 1;
	}
	return capsule;
}

static uint32_t
jv_u32(const char *b, Py_ssize_t off)
{
	uint32_t v;

	memcpy(&v, b + off, sizeof(v));
	return v;
}

static PyObject *
jv_call(PyObject *fn, PyObject *arg)
{
	PyObject *out;

	if (arg == NULL)
		return NULL;
	out = PyObject_CallFunctionObjArgs(fn, arg, NULL);
	Py_DECREF(arg);
	return out;
}

/* Addresses of len bytes, `size` each (a trailing part is dropped, as
 * jailcore.params._addresses_of does), made by fn from their bytes. */
static PyObject *jv_address(PyObject *cls, const unsigned char *a, int v6);

static PyObject *
jv_addrs(const struct jv_entry *e, const char *v, Py_ssize_t len)
{
	Py_ssize_t k = len / e->size;
	PyObject *t = PyTuple_New(k);

	if (t == NULL)
		return NULL;
	for (Py_ssize_t i = 0; i < k; i++) {
		PyObject *a = e->kind == JV_ADDRS ?
		    jv_call(e->fn, PyBytes_FromStringAndSize(v + i * e->size, e->size)) :
		    jv_address(e->fn, (const unsigned char *)v + i * e->size, e->kind == JV_V6);

		if (a == NULL) {
			Py_DECREF(t);
			return NULL;
		}
		PyTuple_SetItem(t, i, a);
	}
	return t;
}

/* What an ipaddress address is made of, as jailcore.params._fast_address
 * makes it: object.__new__(cls), then its slots _ip (the address as an int)
 * and, for IPv6, _scope_id (None).  Set by jc_values_install. */
static newfunc jv_object_new;
static PyObject *jv_no_args, *jv_ip, *jv_scope_id;

static PyObject *
jv_address(PyObject *cls, const unsigned char *a, int v6)
{
	PyObject *obj, *ip;
	uint64_t hi = 0, lo = 0;

	for (int i = 0; i < (v6 ? 8 : 4); i++)
		lo = lo << 8 | a[i];
	if (v6) {
		hi = lo;
		lo = 0;
		for (int i = 8; i < 16; i++)
			lo = lo << 8 | a[i];
	}
	if (v6 && hi != 0) {
		PyObject *h = PyLong_FromUnsignedLongLong(hi), *l = PyLong_FromUnsignedLongLong(lo);
		PyObject *k = PyLong_FromLong(64), *shifted = NULL;

		ip = NULL;
		if (h != NULL && l != NULL && k != NULL && (shifted = PyNumber_Lshift(h, k)) != NULL)
			ip = PyNumber_Or(shifted, l);
		Py_XDECREF(h);
		Py_XDECREF(l);
		Py_XDECREF(k);
		Py_XDECREF(shifted);
	} else {
		ip = PyLong_FromUnsignedLongLong(lo);
	}
	if (ip == NULL)
		return NULL;
	obj = jv_object_new((PyTypeObject *)cls, jv_no_args, NULL);
	if (obj == NULL || PyObject_SetAttr(obj, jv_ip, ip) < 0 ||
	    (v6 && PyObject_SetAttr(obj, jv_scope_id, Py_None) < 0)) {
		Py_XDECREF(obj);
		obj = NULL;
	}
	Py_DECREF(ip);
	return obj;
}

static PyObject *
jv_one(const struct jv_entry *e, const char *b)
{
	const char *v = b + e->off;
	int32_t i32;
	int64_t i64;
	Py_ssize_t len;

	switch (e->kind) {
	case JV_I32:
		memcpy(&i32, v, sizeof(i32));
		return PyLong_FromLong(i32);
	case JV_U32:
		return PyLong_FromUnsignedLong(jv_u32(b, e->off));
	case JV_I64:
		memcpy(&i64, v, sizeof(i64));
		return PyLong_FromLongLong(i64);
	case JV_U64:
		memcpy(&i64, v, sizeof(i64));
		return PyLong_FromUnsignedLongLong((uint64_t)i64);
	case JV_BOOL:
		return PyBool_FromLong(*v != 0);
	case JV_NOBOOL:
		return PyBool_FromLong(*v == 0);
	case JV_STR:
		len = (Py_ssize_t)jv_u32(b, e->lenoff);
		return PyUnicode_DecodeUTF8(v, (Py_ssize_t)strnlen(v, (size_t)len),
		    "surrogateescape");
	case JV_JAILSYS:
		/* JailSys's members for 0, 1 and 2 (disable, new, inherit), else the int. */
		memcpy(&i32, v, sizeof(i32));
		if (i32 >= 0 && i32 <= 2) {
			PyObject *member = PyTuple_GetItem(e->fn, i32);

			Py_XINCREF(member);
			return member;
		}
		return PyLong_FromLong(i32);
	case JV_STRFN:
		len = (Py_ssize_t)jv_u32(b, e->lenoff);
		return jv_call(e->fn, PyUnicode_DecodeUTF8(v, (Py_ssize_t)strnlen(v, (size_t)len),
		    "surrogateescape"));
	case JV_ADDRS:
	case JV_V4:
	case JV_V6:
		return jv_addrs(e, v, (Py_ssize_t)jv_u32(b, e->lenoff));
	case JV_BYTESFN:
		return jv_call(e->fn, PyBytes_FromStringAndSize(v, (Py_ssize_t)jv_u32(b, e->lenoff)));
	}
	PyErr_SetString(PyExc_SystemError, "values: a bad kind");
	return NULL;
}

/* The dict of the values in the buffer b. */
static PyObject *
jv_dict(const struct jv_plan *p, const char *b)
{
	PyObject *out = PyDict_New();

	if (out == NULL)
		return NULL;
	for (Py_ssize_t i = 0; i < p->n; i++) {
		PyObject *v = jv_one(&p->e[i], b);

		if (v == NULL || PyDict_SetItem(out, p->e[i].name, v) < 0) {
			Py_XDECREF(v);
			Py_DECREF(out);
			return NULL;
		}
		Py_DECREF(v);
	}
	return out;
}

static PyObject *
jv_values(PyObject *self, PyObject *args)
{
	PyObject *capsule;
	unsigned long long address;
	const struct jv_plan *p;

	(void)self;
	if (!PyArg_ParseTuple(args, "OK:values", &capsule, &address))
		return NULL;
	p = PyCapsule_GetPointer(capsule, jv_capsule);
	if (p == NULL)
		return NULL;
	if (address == 0) {
		PyErr_SetString(PyExc_ValueError, "values: no buffer");
		return NULL;
	}
	return jv_dict(p, (const char *)(uintptr_t)address);
}

/* get_call(plan, key, backend, flags): jc_get_call with the GIL released
 * (key: its bytes, or a jid as an int),
 * in one of the plan's buffers (each serves one call at a time), then
 * (jid, the dict of values), or (-errno, the kernel's message as bytes), or
 * JC_SET_FALLBACK when the key does not fit the plan. */
static PyObject *
jv_get_call(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
	struct jv_plan *p;
	PyObject *out;
	char *b, *key;
	Py_ssize_t key_len;
	int backend, flags, ret;
	int32_t jid;

	(void)self;
	if (nargs != 4) {
		PyErr_SetString(PyExc_TypeError, "get_call takes 4 arguments");
		return NULL;
	}
	if ((p = PyCapsule_GetPointer(args[0], jv_capsule)) == NULL)
		return NULL;
	if (PyLong_CheckExact(args[1])) {
		/* A jid, a C int: the key's four bytes. */
		long v = PyLong_AsLong(args[1]);

		if (v < INT32_MIN || v > INT32_MAX) {
			if (!PyErr_Occurred())
				PyErr_SetString(PyExc_OverflowError, "get_call: a jid is a C int");
			return NULL;
		}
		jid = (int32_t)v;
		key = (char *)&jid;
		key_len = sizeof(jid);
	} else if (PyBytes_AsStringAndSize(args[1], &key, &key_len) < 0) {
		return NULL;
	}
	backend = (int)PyLong_AsLong(args[2]);
	flags = (int)PyLong_AsLong(args[3]);
	if (PyErr_Occurred())
		return NULL;
	if (p->call == NULL || key_len > 0x7fffffff) {
		PyErr_SetString(PyExc_ValueError, "get_call: no call in this plan");
		return NULL;
	}
	/* A buffer need not be zeroed: jc_get_call clears what the kernel reads. */
	b = p->nspare > 0 ? p->spare[--p->nspare] : PyMem_Malloc(p->bufsize);
	if (b == NULL)
		return PyErr_NoMemory();
	Py_BEGIN_ALLOW_THREADS
	ret = jc_get_call(backend, p->call, b, key, (unsigned int)key_len, flags);
	Py_END_ALLOW_THREADS
	if (ret >= 0) {
		PyObject *values = jv_dict(p, b);

		out = values == NULL ? NULL : Py_BuildValue("(iN)", ret, values);
	} else if (ret == JC_SET_FALLBACK) {
		out = PyLong_FromLong(ret);
	} else {
		out = Py_BuildValue("(iy)", ret, b + p->call->errmsg);
	}
	if (p->nspare < JV_SPARES)
		p->spare[p->nspare++] = b;
	else
		PyMem_Free(b);
	return out;
}

/* ---- the values of a prepared jail_set ------------------------------------
 *
 *   set_plan(slots, nslots, encoders, tail) -> capsule    once per plan
 *   set_call(plan, values, head, backend, flags) -> int or None
 *
 * The values are encoded here as jailcore/_iov.py's encoders do, joined with
 * NUL bytes and handed to jc_set_call (prepared.c) with their lengths, the
 * GIL released for the system call.  A value no encoder here takes (a wrong
 * type, a number out of range, a string UTF-8 cannot encode) makes set_call
 * return None, before any call, so that the general path runs instead; so do
 * fewer values than encoders.  Otherwise it returns the jid, JC_SET_FALLBACK,
 * or for a failed call (errno, the kernel's message as bytes).
 * slots is the address of the plan's struct jc_set_slot array (kept alive by
 * the Python plan), encoders one (code, size, lo, hi, function or None) per
 * value handed to set_call, and tail the encoded values that follow them. */

struct je_encoder {
	int code;
	int size;           /* JE_SINT, JE_UINT: 4 or 8 */
	long long lo, hi;   /* JE_SINT */
	unsigned long long uhi; /* JE_UINT */
	PyObject *fn;       /* JE_FN */
};

struct je_plan {
	const struct jc_set_slot *slots;
	unsigned int nslots;
	Py_ssize_t n;      /* encoders */
	PyObject *tail;    /* a tuple of bytes */
	struct je_encoder e[];
};

static const char je_capsule[] = "jailcore.set_plan";

static void
je_plan_free(PyObject *capsule)
{
	struct je_plan *p = PyCapsule_GetPointer(capsule, je_capsule);

	if (p == NULL)
		return;
	for (Py_ssize_t i = 0; i < p->n; i++)
		Py_XDECREF(p->e[i].fn);
	Py_XDECREF(p->tail);
	PyMem_Free(p);
}

static PyObject *
je_set_plan(PyObject *self, PyObject *args)
{
	unsigned long long slots;
	unsigned int nslots;
	PyObject *encoders, *tail, *capsule;
	struct je_plan *p;
	Py_ssize_t n;

	(void)self;
	if (!PyArg_ParseTuple(args, "KIO!O!:set_plan", &slots, &nslots, &PyTuple_Type, &encoders,
	    &PyTuple_Type, &tail))
		return NULL;
	n = PyTuple_Size(encoders);
	if (slots == 0 || nslots > JC_PLAN_MAX_SLOTS || (size_t)n + (size_t)PyTuple_Size(tail) >
	    (size_t)nslots + 1) {
		PyErr_SetString(PyExc_ValueError, "set_plan: a bad plan");
		return NULL;
	}
	for (Py_ssize_t i = 0; i < PyTuple_Size(tail); i++) {
		if (!PyBytes_Check(PyTuple_GetItem(tail, i))) {
			PyErr_SetString(PyExc_TypeError, "set_plan: the tail is bytes");
			return NULL;
		}
	}
	p = PyMem_Calloc(1, sizeof(*p) + (size_t)n * sizeof(p->e[0]));
	if (p == NULL)
		return PyErr_NoMemory();
	p->slots = (const struct jc_set_slot *)(uintptr_t)slots;
	p->nslots = nslots;
	Py_INCREF(tail);
	p->tail = tail;
	capsule = PyCapsule_New(p, je_capsule, je_plan_free);
	if (capsule == NULL) {
		Py_DECREF(tail);
		PyMem_Free(p);
		return NULL;
	}
	for (Py_ssize_t i = 0; i < n; i++) {
		struct je_encoder *e = &p->e[i];
		PyObject *fn, *lo, *hi;

		if (!PyArg_ParseTuple(PyTuple_GetItem(encoders, i), "iiOOO:set_plan encoder", &e->code,
		    &e->size, &lo, &hi, &fn)) {
			Py_DECREF(capsule);
			return NULL;
		}
		if (e->code == JE_SINT) {
			e->lo = PyLong_AsLongLong(lo);
			e->hi = PyLong_AsLongLong(hi);
		} else if (e->code == JE_UINT) {
			e->uhi = PyLong_AsUnsignedLongLong(hi);
		}
		if (PyErr_Occurred()) {
			Py_DECREF(capsule);
			return NULL;
		}
		if (e->code < JE_STR || e->code > JE_FN ||
		    ((e->code == JE_SINT || e->code == JE_UINT) && e->size != 4 && e->size != 8) ||
		    ((e->code == JE_FN) != (fn != Py_None))) {
			PyErr_SetString(PyExc_ValueError, "set_plan: a bad encoder");
			Py_DECREF(capsule);
			return NULL;
		}
		if (fn != Py_None) {
			Py_INCREF(fn);
			e->fn = fn;
		}
		p->n = i + 1;
	}
	p->n = n;
	return capsule;
}

/* x as a C integer of size bytes (4 or 8) in num: the low bytes of its two's
 * complement, which is what a C int32_t or int64_t of a negative x holds. */
static const char *
je_int(char *num, unsigned long long x, int size, Py_ssize_t *len)
{
	if (size == 4) {
		uint32_t x32 = (uint32_t)x;

		memcpy(num, &x32, 4);
	} else {
		memcpy(num, &x, 8);
	}
	*len = size;
	return num;
}

/* The bytes of one value, owned by *keep (a new reference, or NULL); NULL
 * with no exception set when the general path must take the value. */
static const char *
je_encode(const struct je_encoder *e, PyObject *v, Py_ssize_t *len, PyObject **keep, char *num)
{
	const char *out;

	*keep = NULL;
	switch (e->code) {
	case JE_STR:
		if (!PyUnicode_Check(v))
			return NULL;
		out = PyUnicode_AsUTF8AndSize(v, len);
		if (out == NULL) {
			if (PyErr_ExceptionMatches(PyExc_ValueError))
				PyErr_Clear(); /* surrogates: the general path says what is wrong */
			return NULL;
		}
		Py_INCREF(v); /* its UTF-8 lives as long as it does */
		*keep = v;
		return out;
	case JE_BOOL:
		if (v != Py_True && v != Py_False)
			return NULL;
		num[0] = v == Py_True ? 0 : 1; /* the first name, or the other */
		*len = 1;
		return num;
	case JE_ADDR:
		if (PyUnicode_CheckExact(v)) {
			Py_INCREF(v);
			*keep = v;
		} else if (PyList_CheckExact(v) || PyTuple_CheckExact(v)) {
			PyObject *comma;
			Py_ssize_t k = PySequence_Size(v);

			for (Py_ssize_t i = 0; i < k; i++) {
				PyObject *item = PySequence_GetItem(v, i);
				int text = item != NULL && PyUnicode_CheckExact(item);

				Py_XDECREF(item);
				if (!text)
					return NULL;
			}
			if ((comma = PyUnicode_FromString(",")) == NULL)
				return NULL;
			*keep = PyUnicode_Join(comma, v);
			Py_DECREF(comma);
			if (*keep == NULL)
				return NULL;
		} else {
			return NULL;
		}
		out = PyUnicode_AsUTF8AndSize(*keep, len);
		if (out == NULL && PyErr_ExceptionMatches(PyExc_ValueError))
			PyErr_Clear();
		return out;
	case JE_SINT: {
		int overflow;
		long long x;

		if (!PyLong_CheckExact(v))
			return NULL;
		x = PyLong_AsLongLongAndOverflow(v, &overflow);
		if (overflow != 0 || x < e->lo || x > e->hi)
			return NULL;
		return je_int(num, (unsigned long long)x, e->size, len);
	}
	case JE_UINT: {
		unsigned long long x;

		if (!PyLong_CheckExact(v))
			return NULL;
		x = PyLong_AsUnsignedLongLong(v);
		if (x == (unsigned long long)-1 && PyErr_Occurred()) {
			if (PyErr_ExceptionMatches(PyExc_OverflowError))
				PyErr_Clear(); /* negative or too large: out of range */
			return NULL;
		}
		if (x > e->uhi)
			return NULL;
		return je_int(num, x, e->size, len);
	}
	case JE_FN:
		*keep = PyObject_CallFunctionObjArgs(e->fn, v, NULL);
		if (*keep == NULL) {
			if (PyErr_ExceptionMatches(PyExc_TypeError) ||
			    PyErr_ExceptionMatches(PyExc_ValueError))
				PyErr_Clear();
			return NULL;
		}
		if (!PyBytes_Check(*keep)) {
			PyErr_SetString(PyExc_TypeError, "set_call: an encoder returned no bytes");
			return NULL;
		}
		*len = PyBytes_Size(*keep);
		return PyBytes_AsString(*keep);
	}
	PyErr_SetString(PyExc_SystemError, "set_call: a bad encoder");
	return NULL;
}

/* One value of a call: its bytes, what owns them, and room for a number. */
struct je_part {
	const char *bytes;
	PyObject *keep;
	char num[8];
};

#define JE_STACK 33 /* values (and the empty one) a call holds without allocating */

static PyObject *
je_set_call(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
	PyObject *values, *head, *it = NULL, *result = NULL;
	struct je_part stack_parts[JE_STACK], *part = stack_parts;
	unsigned int stack_lens[JE_STACK], *lens = stack_lens;
	char stack_blob[2048], *blob = stack_blob;
	Py_ssize_t nh, nt, total = 0, k = 0, count;
	const struct je_plan *p;
	int backend, flags, ret;

	(void)self;
	if (nargs != 5) {
		PyErr_SetString(PyExc_TypeError, "set_call takes 5 arguments");
		return NULL;
	}
	if ((p = PyCapsule_GetPointer(args[0], je_capsule)) == NULL)
		return NULL;
	values = args[1];
	head = args[2];
	if (!PyTuple_Check(head)) {
		PyErr_SetString(PyExc_TypeError, "set_call: the head is a tuple");
		return NULL;
	}
	backend = (int)PyLong_AsLong(args[3]);
	flags = (int)PyLong_AsLong(args[4]);
	if (PyErr_Occurred())
		return NULL;
	nh = PyTuple_Size(head);
	nt = PyTuple_Size(p->tail);
	count = nh + p->n + nt;
	if (count != (Py_ssize_t)p->nslots + 1) /* the values, then the empty one */
		Py_RETURN_NONE;
	if (count > JE_STACK) {
		part = PyMem_Calloc((size_t)count, sizeof(*part));
		lens = PyMem_Calloc((size_t)count, sizeof(*lens));
		if (part == NULL || lens == NULL) {
			PyErr_NoMemory();
			goto out;
		}
	}
	for (Py_ssize_t i = 0; i < nh; i++, k++) {
		PyObject *b = PyTuple_GetItem(head, i);

		part[k].keep = NULL;
		if (!PyBytes_Check(b)) {
			PyErr_SetString(PyExc_TypeError, "set_call: the head is bytes");
			goto out;
		}
		part[k].bytes = PyBytes_AsString(b);
		lens[k] = (unsigned int)PyBytes_Size(b);
	}
	if ((it = PyObject_GetIter(values)) == NULL)
		goto out;
	for (Py_ssize_t i = 0; i < p->n; i++) {
		PyObject *v = PyIter_Next(it);
		Py_ssize_t len = 0;

		if (v == NULL) {
			if (!PyErr_Occurred())
				result = Py_None; /* fewer values than the plan's */
			goto out;
		}
		part[k].bytes = je_encode(&p->e[i], v, &len, &part[k].keep, part[k].num);
		k++; /* part[k - 1].keep is released at out, whatever happened */
		Py_DECREF(v);
		if (part[k - 1].bytes == NULL) {
			if (!PyErr_Occurred())
				result = Py_None;
			goto out;
		}
		if (len > 0x7fffffff) {
			result = Py_None;
			goto out;
		}
		lens[k - 1] = (unsigned int)len;
	}
	for (Py_ssize_t i = 0; i < nt; i++, k++) {
		PyObject *b = PyTuple_GetItem(p->tail, i);

		part[k].keep = NULL;
		part[k].bytes = PyBytes_AsString(b);
		lens[k] = (unsigned int)PyBytes_Size(b);
	}
	for (Py_ssize_t i = 0; i < k; i++)
		total += (Py_ssize_t)lens[i] + 1;
	if ((size_t)total > sizeof(stack_blob) && (blob = PyMem_Malloc((size_t)total)) == NULL) {
		PyErr_NoMemory();
		goto out;
	}
	total = 0;
	for (Py_ssize_t i = 0; i < k; i++) {
		memcpy(blob + total, part[i].bytes, lens[i]);
		total += lens[i];
		blob[total++] = '\0';
	}
	Py_BEGIN_ALLOW_THREADS
	ret = jc_set_call(backend, p->slots, p->nslots, blob, (const char *)lens, (unsigned int)k,
	    flags);
	Py_END_ALLOW_THREADS
	if (ret >= 0 || ret == JC_SET_FALLBACK) {
		result = PyLong_FromLong(ret);
	} else {
		/* Failed: the errno and the message, read now, before any Python
		 * code (a signal handler making calls of its own) can run. */
		int err = (-ret) % JC_ERRNO_SPAN, ring = (-ret) / JC_ERRNO_SPAN;

		result = Py_BuildValue("(iy)", err, jc_set_errmsg(ring));
	}
out:
	if (result == Py_None)
		Py_INCREF(result);
	if (blob != stack_blob)
		PyMem_Free(blob);
	if (part != NULL)
		for (Py_ssize_t i = 0; i < k; i++)
			Py_XDECREF(part[i].keep);
	if (part != stack_parts)
		PyMem_Free(part);
	if (lens != stack_lens)
		PyMem_Free(lens);
	Py_XDECREF(it);
	return result;
}

static PyMethodDef jv_methods[] = {
	{"values_plan", jv_values_plan, METH_VARARGS,
	 "values_plan(entries): a prepared jail_get's decoding, made once per plan."},
	{"values", jv_values, METH_VARARGS,
	 "values(plan, address): the dict of the values in the buffer at address."},
	{"get_call", (PyCFunction)(void (*)(void))jv_get_call, METH_FASTCALL,
	 "get_call(plan, key, backend, flags): the prepared jail_get and its values."},
	{"set_plan", je_set_plan, METH_VARARGS,
	 "set_plan(slots, nslots, encoders, tail): a prepared jail_set's encoding."},
	{"set_call", (PyCFunction)(void (*)(void))je_set_call, METH_FASTCALL,
	 "set_call(plan, values, head, backend, flags): the prepared jail_set, or None."},
	{NULL, NULL, 0, NULL},
};

int
jc_values_install(void)
{
	PyGILState_STATE gil = PyGILState_Ensure();
	PyObject *module = PyImport_AddModule("jailcore._native");
	int ret = -1;

	jv_object_new = (newfunc)PyType_GetSlot(&PyBaseObject_Type, Py_tp_new);
	if (jv_no_args == NULL)
		jv_no_args = PyTuple_New(0);
	if (jv_ip == NULL)
		jv_ip = PyUnicode_InternFromString("_ip");
	if (jv_scope_id == NULL)
		jv_scope_id = PyUnicode_InternFromString("_scope_id");
	if (module != NULL && jv_object_new != NULL && jv_no_args != NULL && jv_ip != NULL &&
	    jv_scope_id != NULL && PyModule_AddFunctions(module, jv_methods) == 0)
		ret = 0;
	if (ret != 0)
		PyErr_Clear();
	PyGILState_Release(gil);
	return ret;
}
