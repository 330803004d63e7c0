/* lmzip.models.bytecm._bytecm: CPython binding of the bytecm engine (bcm.c).
 *
 * compress(data, params) -> bytes and decompress(payload, size, params) -> bytes, where
 * params is a sequence of BCM_NPARAM ints (the wrapper in __init__.py builds it from
 * the JSON parameter dict). One call codes a whole chunk with the GIL released.
 * lz_compress / lz_decompress / lz_memory do the same for the LZ engine (lz.c). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "bcm.h"
#include "lz.h"
#include "../../coder/binarith.h"

typedef const char *(*CheckFn)(const int32_t *, size_t);

/* Read `n` ints from a sequence into P and check them with `check`. */
static int get_params_n(PyObject *seq, int32_t *P, int n, CheckFn check) {
    PyObject *fast = PySequence_Fast(seq, "params must be a sequence of ints");
    if (!fast) return -1;
    if (PySequence_Fast_GET_SIZE(fast) != n) {
        Py_DECREF(fast);
        PyErr_Format(PyExc_ValueError, "expected %d parameters", n);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        long v = PyLong_AsLong(PySequence_Fast_GET_ITEM(fast, i));
        if (v == -1 && PyErr_Occurred()) {
            Py_DECREF(fast);
            return -1;
        }
        if (v < INT32_MIN || v > INT32_MAX) {
            Py_DECREF(fast);
            PyErr_SetString(PyExc_ValueError, "parameter out of range");
            return -1;
        }
        P[i] = (int32_t)v;
    }
    Py_DECREF(fast);
    const char *msg = check(P, (size_t)n);
    if (msg) {
        PyErr_SetString(PyExc_ValueError, msg);
        return -1;
    }
    return 0;
}

/* One engine behind the binding: its parameter count and functions. */
typedef struct {
    int nparam;
    CheckFn check;
    int (*compress)(const int32_t *, const uint8_t *, size_t, uint8_t **, size_t *);
    int (*decompress)(const int32_t *, const uint8_t *, size_t, uint8_t *, size_t);
    size_t (*memory)(const int32_t *, size_t);
    uint64_t max_ratio; /* decoded size <= (payload length + 16) * max_ratio */
    const char *name;   /* in error messages */
} Engine;

static const Engine CM = {BCM_NPARAM, bcm_check_params, bcm_compress, bcm_decompress, bcm_memory, BCM_MAX_RATIO,
                          "bytecm"};
static const Engine LZ = {LZ_NPARAM, lz_check_params, lz_compress, lz_decompress, lz_memory, LZ_MAX_RATIO,
                          "bytecm-lz"};

#define MAX_NPARAM ((int)BCM_NPARAM > (int)LZ_NPARAM ? (int)BCM_NPARAM : (int)LZ_NPARAM)

static PyObject *run_compress(const Engine *e, PyObject *args) {
    Py_buffer data;
    PyObject *params;
    if (!PyArg_ParseTuple(args, "y*O", &data, &params)) return NULL;
    int32_t P[MAX_NPARAM];
    if (get_params_n(params, P, e->nparam, e->check) < 0 || (size_t)data.len > BCM_MAX_SIZE) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "chunk too large");
        PyBuffer_Release(&data);
        return NULL;
    }
    uint8_t *out = NULL;
    size_t out_len = 0;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = e->compress(P, (const uint8_t *)data.buf, (size_t)data.len, &out, &out_len);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&data);
    if (rc == -1) return PyErr_NoMemory();
    if (rc != 0) {
        free(out);
        PyErr_SetString(PyExc_ValueError, "bad parameters");
        return NULL;
    }
    PyObject *res = PyBytes_FromStringAndSize((const char *)out, (Py_ssize_t)out_len);
    free(out);
    return res;
}

static PyObject *run_decompress(const Engine *e, PyObject *args) {
    Py_buffer payload;
    Py_ssize_t size;
    PyObject *params;
    if (!PyArg_ParseTuple(args, "y*nO", &payload, &size, &params)) return NULL;
    int32_t P[MAX_NPARAM];
    if (get_params_n(params, P, e->nparam, e->check) < 0) {
        PyBuffer_Release(&payload);
        return NULL;
    }
    if (size < 0 || (size_t)size > BCM_MAX_SIZE) {
        PyBuffer_Release(&payload);
        PyErr_SetString(PyExc_ValueError, "size out of range");
        return NULL;
    }
    if ((uint64_t)size > ((uint64_t)payload.len + 16) * e->max_ratio) { /* before allocating */
        PyBuffer_Release(&payload);
        PyErr_Format(PyExc_ValueError, "corrupt %s payload (too short for its size)", e->name);
        return NULL;
    }
    PyObject *res = PyBytes_FromStringAndSize(NULL, size);
    if (!res) {
        PyBuffer_Release(&payload);
        return NULL;
    }
    int rc;
    uint8_t *out = (uint8_t *)PyBytes_AS_STRING(res);
    Py_BEGIN_ALLOW_THREADS
    rc = e->decompress(P, (const uint8_t *)payload.buf, (size_t)payload.len, out, (size_t)size);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&payload);
    if (rc == 0) return res;
    Py_DECREF(res);
    if (rc == -1) return PyErr_NoMemory();
    if (rc == -2) PyErr_SetString(PyExc_ValueError, "bad parameters");
    else PyErr_Format(PyExc_ValueError, "corrupt %s payload", e->name);
    return NULL;
}

static PyObject *run_memory(const Engine *e, PyObject *args) {
    PyObject *params;
    Py_ssize_t size = 0;
    if (!PyArg_ParseTuple(args, "O|n", &params, &size)) return NULL;
    int32_t P[MAX_NPARAM];
    if (get_params_n(params, P, e->nparam, e->check) < 0) return NULL;
    return PyLong_FromSize_t(e->memory(P, size < 0 ? 0 : (size_t)size));
}

static PyObject *py_compress(PyObject *self, PyObject *args) { return run_compress(&CM, args); }
static PyObject *py_decompress(PyObject *self, PyObject *args) { return run_decompress(&CM, args); }
static PyObject *py_check(PyObject *self, PyObject *args) { return run_memory(&CM, args); }
static PyObject *py_lz_compress(PyObject *self, PyObject *args) { return run_compress(&LZ, args); }
static PyObject *py_lz_decompress(PyObject *self, PyObject *args) { return run_decompress(&LZ, args); }
static PyObject *py_lz_memory(PyObject *self, PyObject *args) { return run_memory(&LZ, args); }

/* Test hook for coder/binarith.h alone: code bits[i] (bytes 0/1) with P(1) = probs[i]
 * (uint16, native order, 1..65535), decode them back and return (payload, decoded). */
static PyObject *py_coder_roundtrip(PyObject *self, PyObject *args) {
    Py_buffer bits, probs;
    if (!PyArg_ParseTuple(args, "y*y*", &bits, &probs)) return NULL;
    PyObject *res = NULL;
    const uint8_t *b = (const uint8_t *)bits.buf;
    const uint16_t *p = (const uint16_t *)probs.buf;
    Py_ssize_t n = bits.len;
    if (probs.len != 2 * n) {
        PyErr_SetString(PyExc_ValueError, "need one uint16 probability per bit");
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        if (p[i] == 0 || b[i] > 1) {
            PyErr_SetString(PyExc_ValueError, "bits must be 0/1 and probabilities 1..65535");
            goto done;
        }
    BinArith enc, dec;
    if (ba_enc_init(&enc, (size_t)n / 8 + 16) < 0) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) ba_code(&enc, b[i], p[i]);
    if (ba_enc_flush(&enc) < 0) {
        free(enc.out);
        PyErr_NoMemory();
        goto done;
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, n);
    if (!out) {
        free(enc.out);
        goto done;
    }
    uint8_t *o = (uint8_t *)PyBytes_AS_STRING(out);
    ba_dec_init(&dec, enc.out, enc.out_len);
    for (Py_ssize_t i = 0; i < n; i++) o[i] = (uint8_t)ba_code(&dec, 0, p[i]);
    int ok = ba_dec_check(&dec) == 0;
    res = Py_BuildValue("(y#Oi)", enc.out, (Py_ssize_t)enc.out_len, out, ok);
    Py_DECREF(out);
    free(enc.out);
done:
    PyBuffer_Release(&bits);
    PyBuffer_Release(&probs);
    return res;
}

static PyMethodDef methods[] = {
    {"coder_roundtrip", py_coder_roundtrip, METH_VARARGS,
     "coder_roundtrip(bits, probs_u16) -> (payload, decoded_bits, consumed_exactly): coder/binarith.h test hook"},
    {"compress", py_compress, METH_VARARGS, "compress(data, params) -> payload"},
    {"decompress", py_decompress, METH_VARARGS, "decompress(payload, size, params) -> data (ValueError if corrupt)"},
    {"memory", py_check, METH_VARARGS, "memory(params, size=0) -> bytes of heap (ValueError if params are bad)"},
    {"lz_compress", py_lz_compress, METH_VARARGS, "lz_compress(data, lz_params) -> payload"},
    {"lz_decompress", py_lz_decompress, METH_VARARGS, "lz_decompress(payload, size, lz_params) -> data (ValueError if corrupt)"},
    {"lz_memory", py_lz_memory, METH_VARARGS, "lz_memory(lz_params, size=0) -> bytes of heap (ValueError if params are bad)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moddef = {PyModuleDef_HEAD_INIT, "_bytecm", "bytecm engine", -1, methods};

PyMODINIT_FUNC PyInit__bytecm(void) {
    bcm_init();
    lz_init();
    PyObject *m = PyModule_Create(&moddef);
    if (!m) return NULL;
    if (PyModule_AddIntConstant(m, "NPARAM", BCM_NPARAM) < 0 || PyModule_AddIntConstant(m, "VERSION", BCM_VERSION) < 0 ||
        PyModule_AddIntConstant(m, "LZ_NPARAM", LZ_NPARAM) < 0 || PyModule_AddIntConstant(m, "LZ_VERSION", LZ_VERSION) < 0 ||
        PyModule_AddIntConstant(m, "LZ_MAX_RATIO", LZ_MAX_RATIO) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
