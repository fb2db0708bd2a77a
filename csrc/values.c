/*
 * values.c: a prepared jail_get's values made into Python objects in C, in
 * one pass over the plan's buffer (csrc/prepared.c lays it out).
 *
 * cffi makes no Python objects of C, so these two functions are Python's C
 * API (the stable ABI of 3.10, as cffi's own module is built):
 *
 *   values_plan(entries) -> capsule   once per plan
 *   values(plan, address) -> dict     once per call
 *
 * jc_values_install() adds them to jailcore._native; jailcore/_iov.py calls
 * it at import.  Each entry says where one value is in the buffer and how it
 * is made: (name, kind, offset, length offset, size, function or None; for
 * JV_V4 and JV_V6, the address class).  The
 * returned lengths are the uint32 that jc_get_gather writes, each at most
 * its slot's size; the address is the buffer's, which the caller keeps alive.
 */
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

struct jv_plan {
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
	PyMem_Free(p);
}

static PyObject *
jv_values_plan(PyObject *self, PyObject *args)
{
	PyObject *entries, *capsule;
	struct jv_plan *p;
	Py_ssize_t n;

	(void)self;
	if (!PyArg_ParseTuple(args, "O!:values_plan", &PyTuple_Type, &entries))
		return NULL;
	n = PyTuple_Size(entries);
	p = PyMem_Calloc(1, sizeof(*p) + (size_t)n * sizeof(p->e[0]));
	if (p == NULL)
		return PyErr_NoMemory();
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
		    (e->kind == JV_ADDRS && e->size <= 0) ||
		    (e->kind == JV_V4 && (e->size != 4 || !PyType_Check(fn))) ||
		    (e->kind == JV_V6 && (e->size != 16 || !PyType_Check(fn))) ||
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
		memcpy(&i32, v, sizeof(i32));
		return jv_call(e->fn, PyLong_FromLong(i32));
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

static PyObject *
jv_values(PyObject *self, PyObject *args)
{
	PyObject *capsule, *out;
	unsigned long long address;
	const struct jv_plan *p;
	const char *b;

	(void)self;
	if (!PyArg_ParseTuple(args, "OK:values", &capsule, &address))
		return NULL;
	p = PyCapsule_GetPointer(capsule, jv_capsule);
	if (p == NULL)
		return NULL;
	b = (const char *)(uintptr_t)address;
	out = PyDict_New();
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

static PyMethodDef jv_methods[] = {
	{"values_plan", jv_values_plan, METH_VARARGS,
	 "values_plan(entries): a prepared jail_get's decoding, made once per plan."},
	{"values", jv_values, METH_VARARGS,
	 "values(plan, address): the dict of the values in the buffer at address."},
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
