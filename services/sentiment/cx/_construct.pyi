# Types of the C module _construct.c (built by setup.py with the mypyc modules).
from collections.abc import Callable
from typing import TypeVar

_T = TypeVar("_T")

def constructor(
    cls: type[_T], slots: tuple[str, ...], args: tuple[int, ...], /
) -> Callable[..., _T]: ...
