/*
 * Constructors of the annotator's frozen result classes (services/sentiment/cx/results.py).
 *
 * Why C: the annotator builds several frozen, slotted dataclass instances per text. The
 * dataclass __init__ stores each field through object.__setattr__; the pure-Python builders
 * in results.py are faster (a draft class, then __class__ assignment) but still run the
 * interpreter for every object, from compiled code: about a sixth of the annotator's
 * instructions. No maintained library builds an instance of a given slotted class without
 * running Python code, and replacing the dataclasses (msgspec, attrs) would change the
 * public result types. So this module does the one thing the builders do, at C speed:
 * allocate an instance of the class and fill its slots, in a fixed order, with the
 * arguments. The result is the object the class's own constructor makes (same type, slots,
 * equality, hash, repr, pickling; tests/unit/sentiment/test_cx_annotator.py checks this).
 *
 * constructor(cls, slots, args) checks, once, that cls is a heap type deriving directly
 * from object whose slots are exactly `slots` (plain object slots, no __dict__ to fill), and
 * returns a callable that takes max(args) + 1 positional arguments and stores argument
 * args[i] (an int) in slot slots[i] (an argument may fill several slots: TextAnnotation's
 * `vader` and `vader_normalized`). Slot names are as stored, that is after name mangling
 * (a slot `__x` of class C is `_C__x`); the result classes have no private slots.
 *
 * Built by setup.py with the mypyc modules; used only when those are (services/sentiment/
 * native.py), so RAPPORT_PURE_PYTHON=1 runs no compiled code at all.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <structmember.h>

#define MAX_SLOTS 16

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyTypeObject *cls;
    Py_ssize_t nargs;
    Py_ssize_t nslots;
    Py_ssize_t offset[MAX_SLOTS];
    Py_ssize_t arg[MAX_SLOTS];
} Constructor;

static PyObject *
constructor_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf,
                       PyObject *kwnames)
{
    Constructor *self = (Constructor *)callable;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (kwnames != NULL && PyTuple_GET_SIZE(kwnames) != 0) {
        PyErr_Format(PyExc_TypeError, "the %s constructor takes no keyword arguments",
                     self->cls->tp_name);
        return NULL;
    }
    if (nargs != self->nargs) {
        PyErr_Format(PyExc_TypeError,
                     "the %s constructor takes %zd positional arguments (%zd given)",
                     self->cls->tp_name, self->nargs, nargs);
        return NULL;
    }
    /* tp_alloc zero-fills the instance, takes a reference to the (heap) type and, for a
       class with object slots, tracks the instance for the garbage collector. Nothing
       below allocates, so no collection can see it before its slots are filled. */
    PyObject *obj = self->cls->tp_alloc(self->cls, 0);
    if (obj == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < self->nslots; i++) {
        PyObject *value = args[self->arg[i]];
        Py_INCREF(value);
        *(PyObject **)((char *)obj + self->offset[i]) = value;
    }
    return obj;
}

/* Garbage-collected: a constructor refers to its class, whose methods' globals (the
   results module) refer to the constructor, a cycle the collector must be able to see. */
static int
constructor_traverse(PyObject *op, visitproc visit, void *arg)
{
    Py_VISIT(((Constructor *)op)->cls);
    return 0;
}

static int
constructor_clear(PyObject *op)
{
    Py_CLEAR(((Constructor *)op)->cls);
    return 0;
}

static void
constructor_dealloc(PyObject *op)
{
    PyObject_GC_UnTrack(op);
    constructor_clear(op);
    PyObject_GC_Del(op);
}

static PyObject *
constructor_repr(PyObject *op)
{
    PyTypeObject *cls = ((Constructor *)op)->cls;
    return PyUnicode_FromFormat("<constructor of %s>", cls == NULL ? "?" : cls->tp_name);
}

static PyTypeObject ConstructorType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "services.sentiment.cx._construct.Constructor",
    .tp_basicsize = sizeof(Constructor),
    .tp_dealloc = constructor_dealloc,
    .tp_vectorcall_offset = offsetof(Constructor, vectorcall),
    .tp_repr = constructor_repr,
    .tp_call = PyVectorcall_Call,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = constructor_traverse,
    .tp_clear = constructor_clear,
    .tp_doc = "Builds an instance of one slotted class from positional arguments.",
};

static PyObject *
make_constructor(PyObject *module, PyObject *args)
{
    PyTypeObject *cls;
    PyObject *slots, *arg_of_slot;
    if (!PyArg_ParseTuple(args, "O!O!O!:constructor", &PyType_Type, &cls, &PyTuple_Type,
                          &slots, &PyTuple_Type, &arg_of_slot)) {
        return NULL;
    }
    Py_ssize_t nslots = PyTuple_GET_SIZE(slots);
    if (nslots == 0 || nslots > MAX_SLOTS || PyTuple_GET_SIZE(arg_of_slot) != nslots) {
        PyErr_SetString(PyExc_ValueError, "slots and args: one argument index per slot, 1..16");
        return NULL;
    }
    /* Only a class whose instances are exactly its slots: a heap type deriving directly
       from object, allocated the generic way, without __dict__ or __weakref__. */
    if (!(cls->tp_flags & Py_TPFLAGS_HEAPTYPE) || cls->tp_base != &PyBaseObject_Type
        || cls->tp_alloc != PyType_GenericAlloc || cls->tp_dictoffset != 0
        || cls->tp_weaklistoffset != 0 || cls->tp_itemsize != 0 || cls->tp_members == NULL) {
        PyErr_Format(PyExc_TypeError, "%s is not a slotted class deriving from object",
                     cls->tp_name);
        return NULL;
    }
    Py_ssize_t nmembers = 0;
    for (PyMemberDef *member = cls->tp_members; member->name != NULL; member++) {
        if (member->type != T_OBJECT_EX || (member->flags & READONLY)) {
            PyErr_Format(PyExc_TypeError, "%s.%s is not a plain object slot", cls->tp_name,
                         member->name);
            return NULL;
        }
        nmembers++;
    }
    if (nmembers != nslots) {
        PyErr_Format(PyExc_ValueError, "%s has %zd slots, %zd given", cls->tp_name, nmembers,
                     nslots);
        return NULL;
    }
    Constructor *self = PyObject_GC_New(Constructor, &ConstructorType);
    if (self == NULL) {
        return NULL;
    }
    self->vectorcall = constructor_vectorcall;
    Py_INCREF(cls);
    self->cls = cls;
    self->nslots = nslots;
    self->nargs = 0;
    for (Py_ssize_t i = 0; i < nslots; i++) {
        PyObject *name = PyTuple_GET_ITEM(slots, i);
        const char *wanted = PyUnicode_Check(name) ? PyUnicode_AsUTF8(name) : NULL;
        if (wanted == NULL) {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_TypeError, "slot names must be str");
            }
            Py_DECREF(self);
            return NULL;
        }
        self->offset[i] = -1;
        for (PyMemberDef *member = cls->tp_members; member->name != NULL; member++) {
            if (strcmp(member->name, wanted) == 0) {
                self->offset[i] = member->offset;
            }
        }
        for (Py_ssize_t j = 0; j < i; j++) {
            if (self->offset[j] == self->offset[i]) {
                self->offset[i] = -1; /* a slot named twice */
            }
        }
        PyObject *index = PyTuple_GET_ITEM(arg_of_slot, i);
        Py_ssize_t arg = PyLong_CheckExact(index) ? PyLong_AsSsize_t(index) : -1;
        if (self->offset[i] < 0 || arg < 0 || arg >= nslots) {
            if (!PyErr_Occurred()) {
                PyErr_Format(PyExc_ValueError, "%s: no slot %s, or a bad argument index",
                             cls->tp_name, wanted);
            }
            Py_DECREF(self);
            return NULL;
        }
        self->arg[i] = arg;
        if (arg + 1 > self->nargs) {
            self->nargs = arg + 1;
        }
    }
    /* Every argument fills a slot (indices 0..nargs-1 all used). */
    for (Py_ssize_t a = 0; a < self->nargs; a++) {
        int used = 0;
        for (Py_ssize_t i = 0; i < nslots; i++) {
            used |= self->arg[i] == a;
        }
        if (!used) {
            PyErr_Format(PyExc_ValueError, "%s: argument %zd fills no slot", cls->tp_name, a);
            Py_DECREF(self);
            return NULL;
        }
    }
    PyObject_GC_Track((PyObject *)self);
    return (PyObject *)self;
}

static PyMethodDef module_methods[] = {
    {"constructor", make_constructor, METH_VARARGS,
     "constructor(cls, slots, args): a callable that builds a cls instance, slot slots[i] "
     "set to positional argument args[i]."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "services.sentiment.cx._construct",
    .m_doc = "Constructors of the annotator's frozen result classes (see _construct.c).",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC
PyInit__construct(void)
{
    if (PyType_Ready(&ConstructorType) < 0) {
        return NULL;
    }
    return PyModule_Create(&module_def);
}
