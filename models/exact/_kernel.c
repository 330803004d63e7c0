/* lmzip.models.exact._kernel: the compiled exact SmolLM2 forward pass (CPython binding).
 *
 * The arithmetic lives in kscalar.c (the scalar path, the definition written out in C),
 * kx86.inc (AVX2 / AVX-512) and kneon.c (NEON); kmodel.c runs the model over lanes.
 * Use it through kernel.py. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <string.h>

#include "kmodel.h"

static int path_of(const char *name) {
    for (int p = 0; p < N_PATHS; p++)
        if (strcmp(name, kpath_names[p]) == 0) return p;
    return -1;
}

static int runnable_path(const char *name) {
    int p = path_of(name);
    if (p < 0) {
        PyErr_Format(PyExc_ValueError, "unknown kernel path '%s'", name);
        return -1;
    }
    if (!kops_get(p)) {
        PyErr_Format(PyExc_ValueError, "kernel path %s cannot run on this CPU", name);
        return -1;
    }
    return p;
}

/* A C-contiguous buffer of exactly `bytes` bytes (any if bytes < 0). */
static int get_buf(PyObject *obj, Py_buffer *view, Py_ssize_t bytes, int writable, const char *what) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0)) != 0) return -1;
    if (bytes >= 0 && view->len != bytes) {
        PyErr_Format(PyExc_ValueError, "%s has %zd bytes, expected %zd", what, view->len, bytes);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* -- the Model type ------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    KModel *m;
    Py_buffer emb;      /* the token embedding's GGUF bytes, read at every step */
    int have_emb, busy;
} ModelObject;

static void Model_dealloc(ModelObject *self) {
    kmodel_free(self->m);
    if (self->have_emb) PyBuffer_Release(&self->emb);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

#define MAX_HELD 512

typedef struct {
    Py_buffer views[MAX_HELD];
    int n;
} Held;

static void held_release(Held *h) {
    for (int i = 0; i < h->n; i++) PyBuffer_Release(&h->views[i]);
    h->n = 0;
}

static const void *held_buf(Held *h, PyObject *obj, Py_ssize_t bytes, const char *what) {
    if (h->n >= MAX_HELD) {
        PyErr_SetString(PyExc_ValueError, "too many tensors");
        return NULL;
    }
    if (get_buf(obj, &h->views[h->n], bytes, 0, what) != 0) return NULL;
    return h->views[h->n++].buf;
}

/* (kind, n, k, raw) */
static int parse_mat(Held *h, PyObject *t, KRawMat *out, const char *what) {
    PyObject *raw;
    if (!PyArg_ParseTuple(t, "iiiO", &out->kind, &out->n, &out->k, &raw)) return -1;
    if ((out->kind != KIND_Q4_1 && out->kind != KIND_Q8_0) || out->n <= 0 || out->k <= 0 || out->k % QB) {
        PyErr_Format(PyExc_ValueError, "%s: bad matrix description", what);
        return -1;
    }
    const Py_ssize_t bytes = (Py_ssize_t)out->n * (out->k / QB) * (out->kind == KIND_Q4_1 ? 20 : 34);
    out->raw = held_buf(h, raw, bytes, what);
    return out->raw ? 0 : -1;
}

static int Model_init(ModelObject *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"path", "n_ctx", "n_lanes", "n_threads", "config", "eps", "cos", "sin",
                             "embd", "head", "out_norm", "layers", NULL};
    const char *path;
    int n_ctx, n_lanes, n_threads;
    float eps;
    PyObject *config, *cos, *sin, *embd, *head, *out_norm, *layers;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "siiiO!fOOO!O!OO!", kwlist, &path, &n_ctx, &n_lanes, &n_threads,
                                     &PyTuple_Type, &config, &eps, &cos, &sin, &PyTuple_Type, &embd, &PyTuple_Type,
                                     &head, &out_norm, &PyList_Type, &layers))
        return -1;
    if (self->m) {
        PyErr_SetString(PyExc_RuntimeError, "Model is already initialized");
        return -1;
    }
    const int p = runnable_path(path);
    if (p < 0) return -1;
    KRawModel raw;
    memset(&raw, 0, sizeof raw);
    if (!PyArg_ParseTuple(config, "iiiiii", &raw.n_layer, &raw.n_embd, &raw.n_ff, &raw.n_head, &raw.n_kv_head,
                          &raw.n_vocab))
        return -1;
    if (raw.n_layer < 1 || PyList_GET_SIZE(layers) != raw.n_layer || n_ctx < 1 || n_lanes < 1 || n_threads < 1 ||
        raw.n_embd < 1 || raw.n_vocab < 1) {
        PyErr_SetString(PyExc_ValueError, "bad model sizes");
        return -1;
    }
    raw.eps = eps;
    Held *h = PyMem_Calloc(1, sizeof(Held));
    KRawLayer *rl = PyMem_Calloc((size_t)raw.n_layer, sizeof(KRawLayer));
    int rc = -1;
    if (!h || !rl) {
        PyErr_NoMemory();
        goto done;
    }
    const Py_ssize_t D = raw.n_embd;
    if (!(raw.cos = held_buf(h, cos, (Py_ssize_t)n_ctx * HD / 2 * 4, "cos")) ||
        !(raw.sin = held_buf(h, sin, (Py_ssize_t)n_ctx * HD / 2 * 4, "sin")) ||
        !(raw.out_norm = held_buf(h, out_norm, D * 4, "out_norm")) || parse_mat(h, embd, &raw.embd, "embd") ||
        parse_mat(h, head, &raw.head, "head"))
        goto done;
    for (int i = 0; i < raw.n_layer; i++) {
        PyObject *an, *fn, *m[7];
        PyObject *t = PyList_GET_ITEM(layers, i);
        if (!PyTuple_Check(t) || !PyArg_ParseTuple(t, "OOOOOOOOO", &an, &fn, &m[0], &m[1], &m[2], &m[3], &m[4], &m[5], &m[6])) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "a layer is a tuple of 9");
            goto done;
        }
        if (!(rl[i].attn_norm = held_buf(h, an, D * 4, "attn_norm")) ||
            !(rl[i].ffn_norm = held_buf(h, fn, D * 4, "ffn_norm")) || parse_mat(h, m[0], &rl[i].wq, "attn_q") ||
            parse_mat(h, m[1], &rl[i].wk, "attn_k") || parse_mat(h, m[2], &rl[i].wv, "attn_v") ||
            parse_mat(h, m[3], &rl[i].wo, "attn_output") || parse_mat(h, m[4], &rl[i].wg, "ffn_gate") ||
            parse_mat(h, m[5], &rl[i].wu, "ffn_up") || parse_mat(h, m[6], &rl[i].wd, "ffn_down"))
            goto done;
    }
    raw.layers = rl;
    /* keep the embedding bytes: the model reads rows of it at every step */
    if (self->have_emb) {
        PyBuffer_Release(&self->emb);
        self->have_emb = 0;
    }
    if (get_buf(PyTuple_GET_ITEM(embd, 3), &self->emb, -1, 0, "embd") != 0) goto done;
    self->have_emb = 1;
    raw.embd.raw = self->emb.buf;
    char err[256] = "";
    KModel *km;
    Py_BEGIN_ALLOW_THREADS
    km = kmodel_new(&raw, p, n_ctx, n_lanes, n_threads, err, sizeof err);
    Py_END_ALLOW_THREADS
    if (!km) {
        PyErr_SetString(strstr(err, "memory") ? PyExc_MemoryError : PyExc_ValueError, err);
        goto done;
    }
    self->m = km;
    rc = 0;
done:
    if (h) held_release(h);
    PyMem_Free(h);
    PyMem_Free(rl);
    return rc;
}

static int ready(ModelObject *self) {
    if (!self->m) {
        PyErr_SetString(PyExc_RuntimeError, "Model is not initialized");
        return 0;
    }
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "Model is busy with a step in another thread");
        return 0;
    }
    return 1;
}

static int lane_arg(ModelObject *self, int lane) {
    if (lane < 0 || lane >= self->m->n_lanes) {
        PyErr_Format(PyExc_ValueError, "lane %d out of range [0, %d)", lane, self->m->n_lanes);
        return 0;
    }
    return 1;
}

static PyObject *Model_reset(ModelObject *self, PyObject *args) {
    int lane;
    if (!PyArg_ParseTuple(args, "i", &lane) || !ready(self) || !lane_arg(self, lane)) return NULL;
    kmodel_reset(self->m, lane);
    Py_RETURN_NONE;
}

static PyObject *Model_n_past(ModelObject *self, PyObject *args) {
    int lane;
    if (!PyArg_ParseTuple(args, "i", &lane) || !ready(self) || !lane_arg(self, lane)) return NULL;
    return PyLong_FromLong(self->m->n_past[lane]);
}

static PyTypeObject ModelType;

static PyObject *Model_copy_lane(ModelObject *self, PyObject *args) {
    int dst, src_lane;
    ModelObject *src;
    if (!PyArg_ParseTuple(args, "iO!i", &dst, &ModelType, &src, &src_lane) || !ready(self) || !lane_arg(self, dst))
        return NULL;
    if (!ready(src) || !lane_arg(src, src_lane)) return NULL;
    if (kmodel_copy_lane(self->m, dst, src->m, src_lane) != 0) {
        PyErr_SetString(PyExc_ValueError, "copy_lane: the models differ in shape or n_ctx");
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *Model_slide(ModelObject *self, PyObject *args) {
    int lane, keep, drop;
    if (!PyArg_ParseTuple(args, "iii", &lane, &keep, &drop) || !ready(self) || !lane_arg(self, lane)) return NULL;
    char err[160];
    int rc;
    self->busy = 1;
    Py_BEGIN_ALLOW_THREADS
    rc = kmodel_slide(self->m, lane, keep, drop, err, sizeof err);
    Py_END_ALLOW_THREADS
    self->busy = 0;
    if (rc) {
        PyErr_SetString(PyExc_ValueError, err);
        return NULL;
    }
    Py_RETURN_NONE;
}

/* step(lanes int32[B], tokens int32[B], out float32[B, V]) */
static PyObject *Model_step(ModelObject *self, PyObject *args) {
    PyObject *lo, *to, *oo;
    if (!PyArg_ParseTuple(args, "OOO", &lo, &to, &oo) || !ready(self)) return NULL;
    KModel *m = self->m;
    Py_buffer lv, tv, ov;
    if (get_buf(lo, &lv, -1, 0, "lanes") != 0) return NULL;
    if (get_buf(to, &tv, lv.len, 0, "tokens") != 0) {
        PyBuffer_Release(&lv);
        return NULL;
    }
    const Py_ssize_t B = lv.len / 4;
    PyObject *ret = NULL;
    if (get_buf(oo, &ov, B * (Py_ssize_t)m->V * 4, 1, "out") != 0) {
        PyBuffer_Release(&lv);
        PyBuffer_Release(&tv);
        return NULL;
    }
    const int32_t *lanes = lv.buf, *tokens = tv.buf;
    int *li = NULL, *ti = NULL;
    char *seen = NULL;
    if (lv.len % 4 || B < 1 || B > m->n_lanes) {
        PyErr_Format(PyExc_ValueError, "a step takes 1 to %d lanes, got %zd", m->n_lanes, B);
        goto done;
    }
    li = PyMem_Malloc(sizeof(int) * B);
    ti = PyMem_Malloc(sizeof(int) * B);
    seen = PyMem_Calloc((size_t)m->n_lanes, 1);
    if (!li || !ti || !seen) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t b = 0; b < B; b++) {
        const int lane = lanes[b], tok = tokens[b];
        if (!lane_arg(self, lane)) goto done;
        if (seen[lane]) {
            PyErr_Format(PyExc_ValueError, "lane %d appears twice in one step", lane);
            goto done;
        }
        seen[lane] = 1;
        if (m->n_past[lane] >= m->n_ctx) {
            PyErr_Format(PyExc_ValueError, "lane %d's window is full (%d positions); slide it first", lane, m->n_ctx);
            goto done;
        }
        if (tok < 0 || tok >= m->V) {
            PyErr_Format(PyExc_ValueError, "token %d out of range [0, %d)", tok, m->V);
            goto done;
        }
        li[b] = lane;
        ti[b] = tok;
    }
    self->busy = 1;
    Py_BEGIN_ALLOW_THREADS
    kmodel_step(m, (int)B, li, ti, ov.buf);
    Py_END_ALLOW_THREADS
    self->busy = 0;
    ret = Py_None;
    Py_INCREF(ret);
done:
    PyMem_Free(li);
    PyMem_Free(ti);
    PyMem_Free(seen);
    PyBuffer_Release(&lv);
    PyBuffer_Release(&tv);
    PyBuffer_Release(&ov);
    return ret;
}

/* set_threads(k): how many of the pool's threads the next steps use (1..n_threads) */
static PyObject *Model_set_threads(ModelObject *self, PyObject *args) {
    int k;
    if (!PyArg_ParseTuple(args, "i", &k) || !ready(self)) return NULL;
    if (k < 1 || k > self->m->n_threads) {
        PyErr_Format(PyExc_ValueError, "threads must be 1 to %d, got %d", self->m->n_threads, k);
        return NULL;
    }
    return PyLong_FromLong(kmodel_set_threads(self->m, k));
}

static PyObject *Model_get_threads(ModelObject *self, void *closure) {
    (void)closure;
    if (!self->m) Py_RETURN_NONE;
    return PyLong_FromLong(kmodel_threads(self->m));
}

static PyObject *Model_get_n_threads(ModelObject *self, void *closure) {
    (void)closure;
    if (!self->m) Py_RETURN_NONE;
    return PyLong_FromLong(self->m->n_threads);
}

static PyObject *Model_get_path(ModelObject *self, void *closure) {
    (void)closure;
    if (!self->m) Py_RETURN_NONE;
    return PyUnicode_FromString(kpath_names[self->m->ops->path]);
}

static PyMethodDef Model_methods[] = {
    {"step", (PyCFunction)Model_step, METH_VARARGS, "step(lanes, tokens, out): one token for each lane; logits into out [B, V]"},
    {"reset", (PyCFunction)Model_reset, METH_VARARGS, "reset(lane): empty the lane's window"},
    {"n_past", (PyCFunction)Model_n_past, METH_VARARGS, "n_past(lane): positions filled"},
    {"slide", (PyCFunction)Model_slide, METH_VARARGS, "slide(lane, keep, drop): ReferenceModel.slide"},
    {"copy_lane", (PyCFunction)Model_copy_lane, METH_VARARGS, "copy_lane(dst, src_model, src_lane): copy a lane's window"},
    {"set_threads", (PyCFunction)Model_set_threads, METH_VARARGS,
     "set_threads(k): use k of the pool's threads from the next step on (same results)"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Model_getset[] = {
    {"path", (getter)Model_get_path, NULL, "the kernel path", NULL},
    {"threads", (getter)Model_get_threads, NULL, "the threads a step uses", NULL},
    {"n_threads", (getter)Model_get_n_threads, NULL, "the threads in the pool", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject ModelType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "lmzip.models.exact._kernel.Model",
    .tp_basicsize = sizeof(ModelObject),
    .tp_dealloc = (destructor)Model_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The exact SmolLM2 over n_lanes lanes (use kernel.KernelModel).",
    .tp_methods = Model_methods,
    .tp_getset = Model_getset,
    .tp_init = (initproc)Model_init,
    .tp_new = PyType_GenericNew,
};

/* -- module functions ----------------------------------------------------------------- */

static PyObject *mod_cpu_paths(PyObject *mod, PyObject *unused) {
    (void)mod;
    (void)unused;
    PyObject *out = PyList_New(0);
    if (!out) return NULL;
    for (int p = 0; p < N_PATHS; p++) {
        if (!kops_get(p)) continue;
        PyObject *s = PyUnicode_FromString(kpath_names[p]);
        if (!s || PyList_Append(out, s) != 0) {
            Py_XDECREF(s);
            Py_DECREF(out);
            return NULL;
        }
        Py_DECREF(s);
    }
    return out;
}

static PyObject *mod_selftest(PyObject *mod, PyObject *args) {
    (void)mod;
    const char *name;
    if (!PyArg_ParseTuple(args, "s", &name)) return NULL;
    const int p = runnable_path(name);
    if (p < 0) return NULL;
    char msg[200] = "";
    const int rc = kselftest(p, msg, sizeof msg); /* holds the GIL: kselftest uses static buffers */
    if (rc < 0) return PyErr_NoMemory();
    return Py_BuildValue("(Os)", rc == 0 ? Py_True : Py_False, msg);
}

/* matmul(path, kind, n, k, raw, x float32[B, k], out float32[B, n]) */
static PyObject *mod_matmul(PyObject *mod, PyObject *args) {
    (void)mod;
    const char *name;
    int kind, n, k;
    PyObject *ro, *xo, *oo;
    if (!PyArg_ParseTuple(args, "siiiOOO", &name, &kind, &n, &k, &ro, &xo, &oo)) return NULL;
    const int p = runnable_path(name);
    if (p < 0) return NULL;
    if ((kind != KIND_Q4_1 && kind != KIND_Q8_0) || n < 1 || k < QB || k % QB) {
        PyErr_SetString(PyExc_ValueError, "bad matrix description");
        return NULL;
    }
    Py_buffer rv, xv, ov;
    if (get_buf(ro, &rv, (Py_ssize_t)n * (k / QB) * (kind == KIND_Q4_1 ? 20 : 34), 0, "raw") != 0) return NULL;
    if (get_buf(xo, &xv, -1, 0, "x") != 0) {
        PyBuffer_Release(&rv);
        return NULL;
    }
    const Py_ssize_t B = xv.len / ((Py_ssize_t)k * 4);
    PyObject *ret = NULL;
    if (B < 1 || xv.len != B * k * 4) {
        PyErr_SetString(PyExc_ValueError, "x must be float32 [B, k]");
    } else if (get_buf(oo, &ov, B * n * 4, 1, "out") == 0) {
        int rc;
        Py_BEGIN_ALLOW_THREADS
        rc = kmatmul_once(p, kind, n, k, rv.buf, (int)B, xv.buf, ov.buf);
        Py_END_ALLOW_THREADS
        PyBuffer_Release(&ov);
        if (rc)
            PyErr_NoMemory();
        else
            ret = Py_NewRef(Py_None);
    }
    PyBuffer_Release(&rv);
    PyBuffer_Release(&xv);
    return ret;
}

/* attend(path, q float32[r, 64], k int16[n, 64], sk float32[n], v int8[n, 64], sv float32[n], out float32[r, 64]) */
static PyObject *mod_attend(PyObject *mod, PyObject *args) {
    (void)mod;
    const char *name;
    PyObject *o[6];
    if (!PyArg_ParseTuple(args, "sOOOOOO", &name, &o[0], &o[1], &o[2], &o[3], &o[4], &o[5])) return NULL;
    const int p = runnable_path(name);
    if (p < 0) return NULL;
    Py_buffer vw[6];
    int got = 0;
    PyObject *ret = NULL;
    for (; got < 6; got++)
        if (get_buf(o[got], &vw[got], -1, got == 5, "argument") != 0) goto done;
    const Py_ssize_t r = vw[0].len / (HD * 4), n = vw[2].len / 4;
    if (r < 1 || r > MAX_RATIO || vw[0].len != r * HD * 4 || n < 1 || vw[1].len != n * HD * 2 ||
        vw[2].len != n * 4 || vw[3].len != n * HD || vw[4].len != n * 4 || vw[5].len != r * HD * 4) {
        PyErr_SetString(PyExc_ValueError, "attend: bad shapes");
        goto done;
    }
    {
        const int tcap = (int)((n + KT - 1) / KT * KT);
        int16_t *kt = PyMem_Calloc((size_t)tcap * HD, 2);
        int8_t *vt = PyMem_Calloc((size_t)tcap * HD, 1);
        float *sk = PyMem_Calloc((size_t)tcap, 4), *sv = PyMem_Calloc((size_t)tcap, 4);
        AttnScratch sc = {0};
        sc.tcap = tcap;
        sc.score = PyMem_Calloc((size_t)r * tcap, 4);
        sc.w = PyMem_Calloc((size_t)r * tcap, 4);
        sc.c = PyMem_Calloc((size_t)r * tcap, 2);
        sc.full = PyMem_Calloc((size_t)r * tcap, sizeof(int));
        sc.nfull = PyMem_Calloc((size_t)r, sizeof(int));
        sc.acc32 = PyMem_Calloc((size_t)r * HD, 4);
        sc.acc64 = PyMem_Calloc((size_t)r * HD, 8);
        if (kt && vt && sk && sv && sc.score && sc.w && sc.c && sc.full && sc.nfull && sc.acc32 && sc.acc64) {
            const int16_t *ks = vw[1].buf;
            const int8_t *vs = vw[3].buf;
            for (Py_ssize_t t = 0; t < n; t++)
                for (int d = 0; d < HD; d++) {
                    kt[(t / KT) * KT * HD + (d / 2) * KT * 2 + (t % KT) * 2 + (d & 1)] = ks[t * HD + d];
                    vt[(t / 2) * 2 * HD + d * 2 + (t & 1)] = vs[t * HD + d];
                }
            memcpy(sk, vw[2].buf, (size_t)n * 4);
            memcpy(sv, vw[4].buf, (size_t)n * 4);
            AttnIn in = {(int)r, (int)n, vw[0].buf, kt, sk, vt, sv, NULL, NULL, 0};
            kops_get(p)->attend(&in, vw[5].buf, &sc);
            ret = Py_NewRef(Py_None);
        } else {
            PyErr_NoMemory();
        }
        PyMem_Free(kt);
        PyMem_Free(vt);
        PyMem_Free(sk);
        PyMem_Free(sv);
        PyMem_Free(sc.score);
        PyMem_Free(sc.w);
        PyMem_Free(sc.c);
        PyMem_Free(sc.full);
        PyMem_Free(sc.nfull);
        PyMem_Free(sc.acc32);
        PyMem_Free(sc.acc64);
    }
done:
    for (int i = 0; i < got; i++) PyBuffer_Release(&vw[i]);
    return ret;
}

/* silu(path, g float32[n], out float32[n]): arith.silu (as silu(g) * 1) */
static PyObject *mod_silu(PyObject *mod, PyObject *args) {
    (void)mod;
    const char *name;
    PyObject *go, *oo;
    if (!PyArg_ParseTuple(args, "sOO", &name, &go, &oo)) return NULL;
    const int p = runnable_path(name);
    if (p < 0) return NULL;
    Py_buffer gv, ov;
    if (get_buf(go, &gv, -1, 0, "g") != 0) return NULL;
    PyObject *ret = NULL;
    if (gv.len % 4 == 0 && get_buf(oo, &ov, gv.len, 1, "out") == 0) {
        const Py_ssize_t n = gv.len / 4;
        float *one = PyMem_Malloc((size_t)(n ? n : 1) * 4);
        if (one) {
            for (Py_ssize_t i = 0; i < n; i++) one[i] = 1.0f;
            memcpy(ov.buf, gv.buf, (size_t)gv.len);
            Py_BEGIN_ALLOW_THREADS
            kops_get(p)->silu_mul(ov.buf, one, (int)n);
            Py_END_ALLOW_THREADS
            PyMem_Free(one);
            ret = Py_NewRef(Py_None);
        } else {
            PyErr_NoMemory();
        }
        PyBuffer_Release(&ov);
    } else if (!PyErr_Occurred()) {
        PyErr_SetString(PyExc_ValueError, "g must be float32");
    }
    PyBuffer_Release(&gv);
    return ret;
}

/* rms_scale(x float32[R, n], n, eps, out float32[R], path="scalar"): arith.rms_scale */
static PyObject *mod_rms_scale(PyObject *mod, PyObject *args) {
    (void)mod;
    PyObject *xo, *oo;
    int n;
    float eps;
    const char *name = "scalar";
    if (!PyArg_ParseTuple(args, "OifO|s", &xo, &n, &eps, &oo, &name)) return NULL;
    const int p = runnable_path(name);
    if (p < 0) return NULL;
    const KOps *ops = kops_get(p);
    if (n < 1) {
        PyErr_SetString(PyExc_ValueError, "n must be positive");
        return NULL;
    }
    Py_buffer xv, ov;
    if (get_buf(xo, &xv, -1, 0, "x") != 0) return NULL;
    PyObject *ret = NULL;
    const Py_ssize_t R = xv.len / ((Py_ssize_t)n * 4);
    if (xv.len != R * n * 4) {
        PyErr_SetString(PyExc_ValueError, "x must be float32 [R, n]");
    } else if (get_buf(oo, &ov, R * 4, 1, "out") == 0) {
        for (Py_ssize_t r = 0; r < R; r++) ((float *)ov.buf)[r] = ops->rms_scale((const float *)xv.buf + r * n, n, eps);
        PyBuffer_Release(&ov);
        ret = Py_NewRef(Py_None);
    }
    PyBuffer_Release(&xv);
    return ret;
}

static PyMethodDef module_methods[] = {
    {"silu", mod_silu, METH_VARARGS, "silu(path, g, out): arith.silu"},
    {"rms_scale", mod_rms_scale, METH_VARARGS, "rms_scale(x, n, eps, out, path='scalar'): arith.rms_scale"},
    {"cpu_paths", mod_cpu_paths, METH_NOARGS, "kernel paths compiled in that this CPU runs"},
    {"selftest", mod_selftest, METH_VARARGS, "selftest(path) -> (ok, message): the path against the scalar path"},
    {"matmul", mod_matmul, METH_VARARGS, "matmul(path, kind, n, k, raw, x, out): reference.matmul"},
    {"attend", mod_attend, METH_VARARGS, "attend(path, q, k, sk, v, sv, out): reference.attend for r heads"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "_kernel", "The compiled exact SmolLM2 kernel (exact-v1).", -1, module_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__kernel(void) {
    if (PyType_Ready(&ModelType) < 0) return NULL;
    PyObject *m = PyModule_Create(&moduledef);
    if (!m) return NULL;
    Py_INCREF(&ModelType);
    if (PyModule_AddObject(m, "Model", (PyObject *)&ModelType) < 0) {
        Py_DECREF(&ModelType);
        Py_DECREF(m);
        return NULL;
    }
    if (PyModule_AddIntConstant(m, "KIND_Q4_1", KIND_Q4_1) || PyModule_AddIntConstant(m, "KIND_Q8_0", KIND_Q8_0)) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
