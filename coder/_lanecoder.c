/* lmzip.coder._lanecoder: many independent range-coded streams ("lanes"), one symbol per
 * lane per call, bit for bit what constriction's RangeEncoder / RangeDecoder (u32 words,
 * u64 state, 24-bit precision) make and read as coder/range.py uses them. The algorithms
 * are in lanecore.h; this file checks arguments, owns the buffers and releases the GIL
 * around the loops. Use it through coder/lanes.py, which normalizes dtypes and shapes.
 *
 * Every method checks what it is given (buffer sizes, lane and symbol indices) before it
 * touches a lane, and a call that fails on data (a frequency row, a logit out of range,
 * an undecodable point) leaves every lane as it was before the call: encoder lanes are
 * rolled back from a snapshot, decoder lanes are updated only once all of them succeeded. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdlib.h>
#include <string.h>

#include "lanecore.h"

uint32_t lc_exp2_frac[1 << 16];
static int have_exp2 = 0;
static int use_avx2 = 0;

/* Table kinds, as coder/lanes.py passes them. */
enum { K_I32 = 0, K_I64 = 1, K_U32 = 2, K_U64 = 3 };

static Py_ssize_t kind_size(int kind) { return (kind == K_I32 || kind == K_U32) ? 4 : 8; }

/* A C-contiguous buffer whose address is a multiple of `align` (its elements are read
 * through typed pointers). */
static int get_buf(PyObject *obj, Py_buffer *view, int writable, Py_ssize_t align, const char *what) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0)) != 0) {
        PyErr_Format(PyExc_ValueError, "%s must be a C-contiguous%s buffer", what, writable ? " writable" : "");
        return -1;
    }
    if ((uintptr_t)view->buf % (uintptr_t)align) {
        PyBuffer_Release(view);
        PyErr_Format(PyExc_ValueError, "%s is not aligned to %zd bytes", what, align);
        return -1;
    }
    return 0;
}

/* -- the frequency-table path: one pass validates a row and finds the symbol ---------- */

/* Encoding symbol s: its left cumulative and frequency; LC_ERR_FREQS unless every entry
 * is in [1, 2**24] and the row sums to 2**24. Each entry is read once (the value checked
 * is the value used). */
#define DEFINE_ROW_ENC(NAME, T)                                                              \
    static int NAME(const T *f, size_t V, size_t s, uint32_t *left, uint32_t *prob) {       \
        uint64_t sum = 0, l = 0, p = 0;                                                      \
        for (size_t i = 0; i < V; i++) {                                                     \
            const T x = f[i];                                                                \
            if (!(x >= 1 && x <= (T)LC_TOTAL)) return LC_ERR_FREQS;                          \
            if (i == s) {                                                                    \
                l = sum;                                                                     \
                p = (uint64_t)x;                                                             \
            }                                                                                \
            sum += (uint64_t)x;                                                              \
        }                                                                                    \
        if (sum != LC_TOTAL) return LC_ERR_FREQS;                                            \
        *left = (uint32_t)l;                                                                 \
        *prob = (uint32_t)p;                                                                 \
        return LC_OK;                                                                        \
    }

/* Decoding: the symbol owning `quantile` (pass LC_TOTAL when the point is invalid: the
 * row is still checked, so a bad table is reported first, as coder/range.py does). */
#define DEFINE_ROW_DEC(NAME, T)                                                              \
    static int NAME(const T *f, size_t V, uint64_t quantile, size_t *sym, uint32_t *left,   \
                    uint32_t *prob) {                                                        \
        uint64_t sum = 0;                                                                    \
        size_t s = V;                                                                        \
        for (size_t i = 0; i < V; i++) {                                                     \
            const T x = f[i];                                                                \
            if (!(x >= 1 && x <= (T)LC_TOTAL)) return LC_ERR_FREQS;                          \
            if (s == V && sum + (uint64_t)x > quantile) {                                    \
                s = i;                                                                       \
                *left = (uint32_t)sum;                                                       \
                *prob = (uint32_t)x;                                                         \
            }                                                                                \
            sum += (uint64_t)x;                                                              \
        }                                                                                    \
        if (sum != LC_TOTAL) return LC_ERR_FREQS;                                            \
        if (s == V) return LC_ERR_INVALID;                                                   \
        *sym = s;                                                                            \
        return LC_OK;                                                                        \
    }

DEFINE_ROW_ENC(row_enc_i32, int32_t)
DEFINE_ROW_ENC(row_enc_i64, int64_t)
DEFINE_ROW_ENC(row_enc_u32, uint32_t)
DEFINE_ROW_ENC(row_enc_u64, uint64_t)
DEFINE_ROW_DEC(row_dec_i32, int32_t)
DEFINE_ROW_DEC(row_dec_i64, int64_t)
DEFINE_ROW_DEC(row_dec_u32, uint32_t)
DEFINE_ROW_DEC(row_dec_u64, uint64_t)

static int row_enc(int kind, const char *row, size_t V, size_t s, uint32_t *left, uint32_t *prob) {
    switch (kind) {
    case K_I32: return row_enc_i32((const int32_t *)row, V, s, left, prob);
    case K_I64: return row_enc_i64((const int64_t *)row, V, s, left, prob);
    case K_U32: return row_enc_u32((const uint32_t *)row, V, s, left, prob);
    default: return row_enc_u64((const uint64_t *)row, V, s, left, prob);
    }
}

static int row_dec(int kind, const char *row, size_t V, uint64_t q, size_t *sym, uint32_t *left, uint32_t *prob) {
    switch (kind) {
    case K_I32: return row_dec_i32((const int32_t *)row, V, q, sym, left, prob);
    case K_I64: return row_dec_i64((const int64_t *)row, V, q, sym, left, prob);
    case K_U32: return row_dec_u32((const uint32_t *)row, V, q, sym, left, prob);
    default: return row_dec_u64((const uint64_t *)row, V, q, sym, left, prob);
    }
}

/* -- shared argument handling ---------------------------------------------------------- */

typedef struct {
    Py_buffer lanes, table, third; /* third: symbols (encode) or out (decode) */
    int have_lanes, have_table, have_third;
    size_t B, V;
    int kind, log2q;
    size_t *lane;   /* private copies: the arrays may change while the GIL is released */
    uint32_t *sym;
} Call;

static void call_free(Call *c) {
    if (c->have_lanes) PyBuffer_Release(&c->lanes);
    if (c->have_table) PyBuffer_Release(&c->table);
    if (c->have_third) PyBuffer_Release(&c->third);
    free(c->lane);
    free(c->sym);
}

/* Scratch for one log2q row: frequencies (in place over the weights) and block sums.
 * Kept by each coder object and grown as needed: a fresh 192 KB buffer per call would
 * come from mmap and page-fault on every call. */
typedef struct {
    uint32_t *w, *blocks;
    size_t cap;
} Scratch;

static int scratch_reserve(Scratch *s, size_t V) {
    if (V <= s->cap) return 0;
    uint32_t *w = malloc(V * sizeof *w), *b = malloc((V / LC_BLOCK + 1) * sizeof *b);
    if (!w || !b) {
        free(w);
        free(b);
        PyErr_NoMemory();
        return -1;
    }
    free(s->w);
    free(s->blocks);
    s->w = w;
    s->blocks = b;
    s->cap = V;
    return 0;
}

static void scratch_free(Scratch *s) {
    free(s->w);
    free(s->blocks);
    s->w = s->blocks = NULL;
    s->cap = 0;
}

/* Parse (lanes: int64[B], table: kind[B, V], third: int64[B] symbols or int32[B] out,
 * V, kind, log2q) and check everything that does not depend on the table's values. */
static int call_parse(Call *c, PyObject *args, size_t n_lanes, int decoding) {
    PyObject *lanes, *table, *third;
    Py_ssize_t V;
    int kind, log2q;
    memset(c, 0, sizeof *c);
    if (!PyArg_ParseTuple(args, "OOOnip", &lanes, &table, &third, &V, &kind, &log2q)) return -1;
    if (kind < K_I32 || kind > K_U64 || (log2q && kind != K_I32 && kind != K_I64)) {
        PyErr_SetString(PyExc_ValueError, "unsupported table dtype");
        return -1;
    }
    c->kind = kind;
    c->log2q = log2q;
    if (log2q && !have_exp2) {
        PyErr_SetString(PyExc_RuntimeError, "exp2 table not set (import lmzip.coder.lanes)");
        return -1;
    }
    if (log2q ? (V < 2 || (uint64_t)V > LC_MAX_LOG2Q_SYMBOLS) : (V < 2 || (uint64_t)V > LC_MAX_SYMBOLS)) {
        PyErr_Format(PyExc_ValueError, "alphabet of %zd symbols: need 2..%llu", V,
                     (unsigned long long)(log2q ? LC_MAX_LOG2Q_SYMBOLS : LC_MAX_SYMBOLS));
        return -1;
    }
    if (get_buf(lanes, &c->lanes, 0, 8, "lanes") != 0) return -1;
    c->have_lanes = 1;
    if (get_buf(table, &c->table, 0, kind_size(kind), log2q ? "logits" : "freqs") != 0) return -1;
    c->have_table = 1;
    if (get_buf(third, &c->third, decoding, decoding ? 4 : 8, decoding ? "out" : "symbols") != 0) return -1;
    c->have_third = 1;
    if (c->lanes.len % 8) {
        PyErr_SetString(PyExc_ValueError, "lanes must be int64");
        return -1;
    }
    const size_t B = (size_t)c->lanes.len / 8;
    c->B = B;
    c->V = (size_t)V;
    if ((size_t)c->third.len != B * (decoding ? 4 : 8)) {
        PyErr_Format(PyExc_ValueError, "%s must hold %zu entries", decoding ? "out" : "symbols", B);
        return -1;
    }
    /* B * V * size cannot overflow: both are sizes of real buffers, checked by division */
    if ((size_t)c->table.len / (size_t)kind_size(kind) / (size_t)V != B ||
        (size_t)c->table.len != B * (size_t)V * (size_t)kind_size(kind)) {
        PyErr_Format(PyExc_ValueError, "table must have shape (%zu, %zd)", B, V);
        return -1;
    }
    if (B == 0) return 0;
    c->lane = malloc(B * sizeof *c->lane);
    c->sym = malloc(B * sizeof *c->sym);
    unsigned char *seen = calloc(n_lanes ? n_lanes : 1, 1);
    if (!c->lane || !c->sym || !seen) {
        free(seen);
        PyErr_NoMemory();
        return -1;
    }
    const int64_t *ln = (const int64_t *)c->lanes.buf;
    for (size_t j = 0; j < B; j++) {
        const int64_t l = ln[j];
        if (l < 0 || (uint64_t)l >= n_lanes) {
            PyErr_Format(PyExc_ValueError, "lane %lld out of range (%zu lanes)", (long long)l, n_lanes);
            free(seen);
            return -1;
        }
        if (seen[l]) {
            PyErr_Format(PyExc_ValueError, "lane %lld appears twice in one call", (long long)l);
            free(seen);
            return -1;
        }
        seen[l] = 1;
        c->lane[j] = (size_t)l;
    }
    free(seen);
    if (!decoding) {
        const int64_t *sy = (const int64_t *)c->third.buf;
        for (size_t j = 0; j < B; j++) {
            if (sy[j] < 0 || (uint64_t)sy[j] >= (uint64_t)V) {
                PyErr_Format(PyExc_ValueError, "symbol %lld outside alphabet of %zd", (long long)sy[j], V);
                return -1;
            }
            c->sym[j] = (uint32_t)sy[j];
        }
    }
    return 0;
}

static void raise_row_error(int err, size_t lane) {
    switch (err) {
    case LC_ERR_FREQS:
        PyErr_Format(PyExc_ValueError, "frequencies for lane %zu must each be >= 1 and sum to 2**24", lane);
        break;
    case LC_ERR_RANGE:
        PyErr_Format(PyExc_ValueError, "log2q logits out of range (+-2**61) for lane %zu", lane);
        break;
    case LC_ERR_INVALID:
        PyErr_Format(PyExc_ValueError,
                     "range-coded data is invalid for this model (lane %zu: the point lies in no symbol's interval)",
                     lane);
        break;
    default:
        PyErr_Format(PyExc_ValueError, "input changed while lane %zu was being coded", lane);
    }
}

/* -- Encoder --------------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    LcEnc *lanes;
    size_t n;
    Scratch scratch;
    int busy; /* one call at a time: the GIL is released inside */
} EncoderObject;

static void Encoder_dealloc(EncoderObject *self) {
    if (self->lanes)
        for (size_t i = 0; i < self->n; i++) free(self->lanes[i].words);
    free(self->lanes);
    scratch_free(&self->scratch);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int Encoder_init(EncoderObject *self, PyObject *args, PyObject *kw) {
    Py_ssize_t n;
    static char *names[] = {"n_lanes", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kw, "n", names, &n)) return -1;
    if (self->lanes) {
        PyErr_SetString(PyExc_RuntimeError, "Encoder is already initialized");
        return -1;
    }
    if (n < 0) {
        PyErr_SetString(PyExc_ValueError, "n_lanes must be >= 0");
        return -1;
    }
    self->lanes = calloc(n ? (size_t)n : 1, sizeof *self->lanes);
    if (!self->lanes) {
        PyErr_NoMemory();
        return -1;
    }
    self->n = (size_t)n;
    for (size_t i = 0; i < self->n; i++) lc_enc_init(&self->lanes[i]);
    return 0;
}

static int enter(int *busy) {
    if (*busy) {
        PyErr_SetString(PyExc_RuntimeError, "lane coder used from two threads at once");
        return -1;
    }
    *busy = 1;
    return 0;
}

/* Room for `extra` more words in lane e. */
static int reserve(LcEnc *e, uint64_t extra) {
    if (extra > (uint64_t)(PY_SSIZE_T_MAX / 4) - e->len) {
        PyErr_NoMemory();
        return -1;
    }
    const size_t need = e->len + (size_t)extra;
    if (need <= e->cap) return 0;
    size_t cap = e->cap ? e->cap : 64;
    while (cap < need) cap = cap > ((size_t)PY_SSIZE_T_MAX / 4) / 2 ? need : 2 * cap;
    uint32_t *w = realloc(e->words, cap * sizeof *w);
    if (!w) {
        PyErr_NoMemory();
        return -1;
    }
    e->words = w;
    e->cap = cap;
    return 0;
}

/* encode(lanes: int64[B], table, symbols: int64[B], V, kind, log2q) */
static PyObject *Encoder_encode(EncoderObject *self, PyObject *args) {
    Call c;
    LcEnc *saved = NULL;
    PyObject *result = NULL;
    if (enter(&self->busy) != 0) return NULL;
    if (call_parse(&c, args, self->n, 0) != 0) goto done;
    const int log2q = c.log2q, kind = c.kind, z64 = kind_size(c.kind) == 8;
    if (c.B == 0) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    if (log2q && scratch_reserve(&self->scratch, c.V) != 0) goto done;
    uint32_t *const sw = self->scratch.w, *const sb = self->scratch.blocks;
    saved = malloc(c.B * sizeof *saved);
    if (!saved) {
        PyErr_NoMemory();
        goto done;
    }
    for (size_t j = 0; j < c.B; j++) {
        LcEnc *e = &self->lanes[c.lane[j]];
        if (reserve(e, lc_enc_step_words(e)) != 0) goto done;
        saved[j] = *e;
    }
    int err = LC_OK;
    size_t j = 0;
    const int avx2 = use_avx2;
    const size_t V = c.V, rowbytes = V * (size_t)kind_size(kind);
    const char *table = (const char *)c.table.buf;
    Py_BEGIN_ALLOW_THREADS
    for (; j < c.B; j++) {
        uint32_t left, prob;
        const char *row = table + j * rowbytes;
        if (log2q) {
            err = lc_quantize_row(row, z64, V, sw, sb, avx2);
            if (err) break;
            left = lc_left_of(sw, sb, c.sym[j]);
            prob = sw[c.sym[j]];
        } else {
            err = row_enc(kind, row, V, c.sym[j], &left, &prob);
            if (err) break;
        }
        lc_encode(&self->lanes[c.lane[j]], left, prob);
    }
    Py_END_ALLOW_THREADS
    if (err) {
        /* roll back the lanes coded in this call (their word buffers only grew) */
        for (size_t k = 0; k < j; k++) {
            LcEnc *e = &self->lanes[c.lane[k]];
            uint32_t *words = e->words;
            size_t cap = e->cap;
            *e = saved[k];
            e->words = words;
            e->cap = cap;
        }
        raise_row_error(err, c.lane[j]);
        goto done;
    }
    result = Py_NewRef(Py_None);
done:
    free(saved);
    call_free(&c);
    self->busy = 0;
    return result;
}

static int lane_arg(PyObject *arg, size_t n, size_t *lane) {
    const Py_ssize_t l = PyLong_AsSsize_t(arg);
    if (l == -1 && PyErr_Occurred()) return -1;
    if (l < 0 || (size_t)l >= n) {
        PyErr_Format(PyExc_ValueError, "lane %zd out of range (%zu lanes)", l, n);
        return -1;
    }
    *lane = (size_t)l;
    return 0;
}

/* finish(lane) -> bytes: the bulk and the seal words, little-endian (the stream of
 * RangeEncoder.get_compressed()). The lane can go on encoding afterwards. */
static PyObject *Encoder_finish(EncoderObject *self, PyObject *arg) {
    size_t lane;
    if (lane_arg(arg, self->n, &lane) != 0) return NULL;
    if (enter(&self->busy) != 0) return NULL;
    const LcEnc *e = &self->lanes[lane];
    PyObject *out = NULL;
    const uint64_t seal = lc_seal_count(e);
    if (seal > (uint64_t)(PY_SSIZE_T_MAX / 4) - e->len) {
        PyErr_NoMemory();
        goto done;
    }
    const size_t n = e->len + (size_t)seal;
    uint32_t *tail = malloc(((size_t)seal + 1) * sizeof *tail);
    if (!tail) {
        PyErr_NoMemory();
        goto done;
    }
    if (lc_seal(e, tail) != seal) { /* lc_seal_count and lc_seal disagree: cannot happen */
        free(tail);
        PyErr_SetString(PyExc_RuntimeError, "lane coder: seal length mismatch");
        goto done;
    }
    out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(n * 4));
    if (out) {
        unsigned char *p = (unsigned char *)PyBytes_AS_STRING(out);
        for (size_t i = 0; i < n; i++) {
            const uint32_t w = i < e->len ? e->words[i] : tail[i - e->len];
            p[4 * i] = (unsigned char)w;
            p[4 * i + 1] = (unsigned char)(w >> 8);
            p[4 * i + 2] = (unsigned char)(w >> 16);
            p[4 * i + 3] = (unsigned char)(w >> 24);
        }
    }
    free(tail);
done:
    self->busy = 0;
    return out;
}

/* state(lane) -> (lower, range, n_inverted, first_inverted, n_words, symbols): for tests. */
static PyObject *Encoder_state(EncoderObject *self, PyObject *arg) {
    size_t lane;
    if (lane_arg(arg, self->n, &lane) != 0) return NULL;
    const LcEnc *e = &self->lanes[lane];
    return Py_BuildValue("(KKKkKK)", (unsigned long long)e->lower, (unsigned long long)e->range,
                         (unsigned long long)e->n_inverted, (unsigned long)e->first_inverted,
                         (unsigned long long)e->len, (unsigned long long)e->symbols);
}

static PyObject *Encoder_n_lanes(EncoderObject *self, void *closure) {
    (void)closure;
    return PyLong_FromSize_t(self->n);
}

static PyMethodDef Encoder_methods[] = {
    {"encode", (PyCFunction)Encoder_encode, METH_VARARGS, "encode(lanes, table, symbols, V, kind, log2q)"},
    {"finish", (PyCFunction)Encoder_finish, METH_O, "finish(lane) -> bytes"},
    {"state", (PyCFunction)Encoder_state, METH_O, "state(lane) -> (lower, range, n_inverted, first_inverted, n_words, symbols)"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Encoder_getset[] = {
    {"n_lanes", (getter)Encoder_n_lanes, NULL, "number of lanes", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject EncoderType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "lmzip.coder._lanecoder.Encoder",
    .tp_basicsize = sizeof(EncoderObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Encoder(n_lanes): n_lanes independent range encoders",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Encoder_init,
    .tp_dealloc = (destructor)Encoder_dealloc,
    .tp_methods = Encoder_methods,
    .tp_getset = Encoder_getset,
};

/* -- Decoder --------------------------------------------------------------------------- */

typedef struct {
    uint32_t *words;
    size_t n_words;
    LcDec d;
} DecLane;

typedef struct {
    PyObject_HEAD
    DecLane *lanes;
    size_t n;
    Scratch scratch;
    int busy;
} DecoderObject;

static void Decoder_dealloc(DecoderObject *self) {
    if (self->lanes)
        for (size_t i = 0; i < self->n; i++) free(self->lanes[i].words);
    free(self->lanes);
    scratch_free(&self->scratch);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int Decoder_init(DecoderObject *self, PyObject *args, PyObject *kw) {
    PyObject *streams;
    static char *names[] = {"streams", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O", names, &streams)) return -1;
    if (self->lanes) {
        PyErr_SetString(PyExc_RuntimeError, "Decoder is already initialized");
        return -1;
    }
    PyObject *seq = PySequence_Fast(streams, "streams must be a sequence of bytes");
    if (!seq) return -1;
    const Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    self->lanes = calloc(n ? (size_t)n : 1, sizeof *self->lanes);
    if (!self->lanes) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        return -1;
    }
    self->n = (size_t)n;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_buffer view;
        if (PyObject_GetBuffer(PySequence_Fast_GET_ITEM(seq, i), &view, PyBUF_C_CONTIGUOUS) != 0) {
            Py_DECREF(seq);
            PyErr_Format(PyExc_ValueError, "stream %zd is not a bytes-like object", i);
            return -1;
        }
        if (view.len % 4) {
            PyErr_Format(PyExc_ValueError, "stream %zd: range-coded payload length %zd is not a multiple of 4", i,
                         view.len);
            PyBuffer_Release(&view);
            Py_DECREF(seq);
            return -1;
        }
        DecLane *L = &self->lanes[i];
        L->n_words = (size_t)view.len / 4;
        L->words = malloc(L->n_words ? L->n_words * 4 : 4);
        if (!L->words) {
            PyBuffer_Release(&view);
            Py_DECREF(seq);
            PyErr_NoMemory();
            return -1;
        }
        const unsigned char *p = (const unsigned char *)view.buf;
        for (size_t k = 0; k < L->n_words; k++)
            L->words[k] = (uint32_t)p[4 * k] | (uint32_t)p[4 * k + 1] << 8 | (uint32_t)p[4 * k + 2] << 16 |
                          (uint32_t)p[4 * k + 3] << 24;
        PyBuffer_Release(&view);
        lc_dec_init(&L->d, L->words, L->n_words);
    }
    Py_DECREF(seq);
    return 0;
}

/* decode(lanes: int64[B], table, out: int32[B], V, kind, log2q): all lanes or none. */
static PyObject *Decoder_decode(DecoderObject *self, PyObject *args) {
    Call c;
    LcDec *next = NULL;
    PyObject *result = NULL;
    if (enter(&self->busy) != 0) return NULL;
    if (call_parse(&c, args, self->n, 1) != 0) goto done;
    const int log2q = c.log2q, kind = c.kind, z64 = kind_size(c.kind) == 8;
    if (c.B == 0) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    if (log2q && scratch_reserve(&self->scratch, c.V) != 0) goto done;
    uint32_t *const sw = self->scratch.w, *const sb = self->scratch.blocks;
    next = malloc(c.B * sizeof *next);
    if (!next) {
        PyErr_NoMemory();
        goto done;
    }
    int err = LC_OK;
    size_t j = 0;
    const int avx2 = use_avx2;
    const size_t V = c.V, rowbytes = V * (size_t)kind_size(kind);
    const char *table = (const char *)c.table.buf;
    Py_BEGIN_ALLOW_THREADS
    for (; j < c.B; j++) {
        const DecLane *L = &self->lanes[c.lane[j]];
        LcDec d = L->d;
        const char *row = table + j * rowbytes;
        uint32_t quantile = 0, left = 0, prob = 0;
        size_t s;
        if (log2q) {
            err = lc_quantize_row(row, z64, V, sw, sb, avx2);
            if (err) break;
            err = lc_quantile(&d, &quantile);
            if (err) break;
            s = lc_find(sw, sb, V, quantile, &left);
            if (s >= V) {
                err = LC_ERR_STATE;
                break;
            }
            prob = sw[s];
        } else {
            const int bad = lc_quantile(&d, &quantile);
            err = row_dec(kind, row, V, bad ? LC_TOTAL : quantile, &s, &left, &prob);
            if (err) break;
        }
        lc_decode_update(&d, L->words, L->n_words, left, prob);
        next[j] = d;
        c.sym[j] = (uint32_t)s;
    }
    Py_END_ALLOW_THREADS
    if (err) {
        raise_row_error(err, c.lane[j]);
        goto done;
    }
    int32_t *out = (int32_t *)c.third.buf;
    for (size_t k = 0; k < c.B; k++) {
        self->lanes[c.lane[k]].d = next[k];
        out[k] = (int32_t)c.sym[k];
    }
    result = Py_NewRef(Py_None);
done:
    free(next);
    call_free(&c);
    self->busy = 0;
    return result;
}

/* state(lane) -> (lower, range, point, words_read, past_end, symbols): for tests. */
static PyObject *Decoder_state(DecoderObject *self, PyObject *arg) {
    size_t lane;
    if (lane_arg(arg, self->n, &lane) != 0) return NULL;
    const LcDec *d = &self->lanes[lane].d;
    return Py_BuildValue("(KKKnKK)", (unsigned long long)d->lower, (unsigned long long)d->range,
                         (unsigned long long)d->point, (Py_ssize_t)d->pos, (unsigned long long)d->past_end,
                         (unsigned long long)d->symbols);
}

static PyObject *Decoder_n_lanes(DecoderObject *self, void *closure) {
    (void)closure;
    return PyLong_FromSize_t(self->n);
}

static PyMethodDef Decoder_methods[] = {
    {"decode", (PyCFunction)Decoder_decode, METH_VARARGS, "decode(lanes, table, out, V, kind, log2q)"},
    {"state", (PyCFunction)Decoder_state, METH_O, "state(lane) -> (lower, range, point, words_read, past_end, symbols)"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Decoder_getset[] = {
    {"n_lanes", (getter)Decoder_n_lanes, NULL, "number of lanes", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject DecoderType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "lmzip.coder._lanecoder.Decoder",
    .tp_basicsize = sizeof(DecoderObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Decoder(streams): one range decoder per stream",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Decoder_init,
    .tp_dealloc = (destructor)Decoder_dealloc,
    .tp_methods = Decoder_methods,
    .tp_getset = Decoder_getset,
};

/* -- module functions ---------------------------------------------------------------- */

/* quantize_rows(z: kind[B, V], out: uint32[B, V] or int64[B, V], V, zkind, out64) */
static PyObject *mod_quantize_rows(PyObject *mod, PyObject *args) {
    PyObject *zo, *oo;
    Py_ssize_t V;
    int zkind, out64;
    Py_buffer z, out;
    (void)mod;
    if (!PyArg_ParseTuple(args, "OOnip", &zo, &oo, &V, &zkind, &out64)) return NULL;
    if (!have_exp2) {
        PyErr_SetString(PyExc_RuntimeError, "exp2 table not set");
        return NULL;
    }
    if (zkind != K_I32 && zkind != K_I64) {
        PyErr_SetString(PyExc_ValueError, "logits must be int32 or int64");
        return NULL;
    }
    if (V < 2 || (uint64_t)V > LC_MAX_LOG2Q_SYMBOLS) {
        PyErr_Format(PyExc_ValueError, "need 2..%llu logits per row, got %zd",
                     (unsigned long long)LC_MAX_LOG2Q_SYMBOLS, V);
        return NULL;
    }
    if (get_buf(zo, &z, 0, kind_size(zkind), "logits") != 0) return NULL;
    if (get_buf(oo, &out, 1, out64 ? 8 : 4, "out") != 0) {
        PyBuffer_Release(&z);
        return NULL;
    }
    PyObject *result = NULL;
    uint32_t *scratch = NULL, *blocks = NULL;
    const size_t zsize = (size_t)kind_size(zkind), osize = out64 ? 8 : 4;
    const size_t B = (size_t)z.len / zsize / (size_t)V;
    if ((size_t)z.len != B * (size_t)V * zsize || (size_t)out.len != B * (size_t)V * osize) {
        PyErr_SetString(PyExc_ValueError, "logits and out must both have shape (B, V)");
        goto done;
    }
    scratch = malloc((size_t)V * sizeof *scratch);
    blocks = malloc(((size_t)V / LC_BLOCK + 1) * sizeof *blocks);
    if (!scratch || !blocks) {
        PyErr_NoMemory();
        goto done;
    }
    int err = LC_OK;
    size_t j = 0;
    const int avx2 = use_avx2;
    Py_BEGIN_ALLOW_THREADS
    for (; j < B; j++) {
        const char *row = (const char *)z.buf + j * (size_t)V * zsize;
        /* a uint32 output row serves as the scratch itself */
        uint32_t *w = out64 ? scratch : (uint32_t *)out.buf + j * (size_t)V;
        err = lc_quantize_row(row, zkind == K_I64, (size_t)V, w, blocks, avx2);
        if (err) break;
        if (out64) {
            int64_t *o = (int64_t *)out.buf + j * (size_t)V;
            for (size_t i = 0; i < (size_t)V; i++) o[i] = w[i];
        }
    }
    Py_END_ALLOW_THREADS
    if (err == LC_ERR_RANGE)
        PyErr_Format(PyExc_ValueError, "log2q logits out of range (+-2**61) in row %zu", j);
    else if (err)
        PyErr_Format(PyExc_ValueError, "logits changed while row %zu was being quantized", j);
    else
        result = Py_NewRef(Py_None);
done:
    free(scratch);
    free(blocks);
    PyBuffer_Release(&z);
    PyBuffer_Release(&out);
    return result;
}

/* set_exp2(table: int64[65536]): quantize.EXP2_FRAC, once. */
static PyObject *mod_set_exp2(PyObject *mod, PyObject *arg) {
    Py_buffer v;
    (void)mod;
    if (get_buf(arg, &v, 0, 8, "table") != 0) return NULL;
    if (v.len != (Py_ssize_t)sizeof(int64_t) << 16) {
        PyBuffer_Release(&v);
        PyErr_SetString(PyExc_ValueError, "exp2 table must be int64[65536]");
        return NULL;
    }
    uint32_t *t = malloc(sizeof(uint32_t) << 16);
    if (!t) {
        PyBuffer_Release(&v);
        return PyErr_NoMemory();
    }
    const int64_t *x = (const int64_t *)v.buf;
    int ok = x[0] == (int64_t)LC_WEIGHT_ONE;
    for (size_t f = 1; f < (1 << 16) && ok; f++) ok = x[f] >= 0 && x[f] < (int64_t)LC_WEIGHT_ONE;
    /* weight 2**31 only at d == 0 is what makes "first max of z" the first max weight */
    for (size_t f = 0; f < (1 << 16); f++) t[f] = (uint32_t)x[f];
    PyBuffer_Release(&v);
    if (!ok) {
        free(t);
        PyErr_SetString(PyExc_ValueError, "exp2 table must have t[0] == 2**31 and 0 <= t[f] < 2**31 elsewhere");
        return NULL;
    }
    if (have_exp2) {
        const int same = memcmp(t, lc_exp2_frac, sizeof lc_exp2_frac) == 0;
        free(t);
        if (!same) {
            PyErr_SetString(PyExc_ValueError, "a different exp2 table is already set");
            return NULL;
        }
        Py_RETURN_NONE;
    }
    memcpy(lc_exp2_frac, t, sizeof lc_exp2_frac);
    free(t);
    have_exp2 = 1;
    Py_RETURN_NONE;
}

static int avx2_supported(void) {
#if LC_HAVE_AVX2
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
#else
    return 0;
#endif
}

/* set_path("avx2" | "scalar"): which quantizer loops run (same results). For tests. */
static PyObject *mod_set_path(PyObject *mod, PyObject *arg) {
    (void)mod;
    const char *name = PyUnicode_AsUTF8(arg);
    if (!name) return NULL;
    if (strcmp(name, "scalar") == 0)
        use_avx2 = 0;
    else if (strcmp(name, "avx2") == 0 && avx2_supported())
        use_avx2 = 1;
    else {
        PyErr_Format(PyExc_ValueError, "path %s is not available", name);
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *mod_paths(PyObject *mod, PyObject *unused) {
    (void)mod;
    (void)unused;
    return avx2_supported() ? Py_BuildValue("(ss)", "scalar", "avx2") : Py_BuildValue("(s)", "scalar");
}

static PyObject *mod_path(PyObject *mod, PyObject *unused) {
    (void)mod;
    (void)unused;
    return PyUnicode_FromString(use_avx2 ? "avx2" : "scalar");
}

static PyMethodDef module_methods[] = {
    {"quantize_rows", mod_quantize_rows, METH_VARARGS, "quantize_rows(z, out, V, zkind, out64)"},
    {"set_exp2", mod_set_exp2, METH_O, "set_exp2(EXP2_FRAC)"},
    {"set_path", mod_set_path, METH_O, "set_path('scalar' | 'avx2')"},
    {"path", mod_path, METH_NOARGS, "the quantizer path in use"},
    {"paths", mod_paths, METH_NOARGS, "the quantizer paths this CPU runs"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_lanecoder",
    .m_doc = "Multi-lane range coder (constriction-compatible) and log2q quantizer.",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__lanecoder(void) {
    if (PyType_Ready(&EncoderType) < 0 || PyType_Ready(&DecoderType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    use_avx2 = avx2_supported();
    Py_INCREF(&EncoderType);
    if (PyModule_AddObject(m, "Encoder", (PyObject *)&EncoderType) < 0) {
        Py_DECREF(&EncoderType);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&DecoderType);
    if (PyModule_AddObject(m, "Decoder", (PyObject *)&DecoderType) < 0) {
        Py_DECREF(&DecoderType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
