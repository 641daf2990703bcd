"""Pairing datasets and columns across two contract versions: by name, then by stable `id`, then by
physicalName, then by an identical definition, so renames are recognised as renames."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from app.contracts.model import Column, Dataset

Item = TypeVar("Item", Column, Dataset)
T = TypeVar("T")


def pair_in_stages(
    old: Sequence[T], new: Sequence[T], stages: Sequence[Callable[[T, T], bool]]
) -> tuple[list[tuple[T, T]], list[T], list[T]]:
    """List items paired across revisions: each stage pairs what the earlier stages left, the first
    match in `new` for each item of `old` in turn (stages from the surest, such as an identical item
    or a stable `id`, to the loosest). Returns (pairs, removed, added)."""
    pairs: list[tuple[T, T]] = []
    left, right = list(old), list(new)
    for stage in stages:
        for a in list(left):
            b = next((b for b in right if stage(a, b)), None)
            if b is not None:
                pairs.append((a, b))
                left.remove(a)
                right.remove(b)
    return pairs, left, right


def match_datasets(
    old: Sequence[Dataset], new: Sequence[Dataset]
) -> tuple[list[tuple[Dataset, Dataset]], list[Dataset], list[Dataset]]:
    """Datasets: a leftover pair with the same column names anywhere is a rename."""
    return match(old, new, _dataset_identity, _same_dataset_shape)


def match_columns(
    old: Sequence[Column], new: Sequence[Column]
) -> tuple[list[tuple[Column, Column]], list[Column], list[Column]]:
    """Columns: a leftover pair with an identical definition at the same position is a rename."""
    return match(old, new, _column_identity, _same_column_shape, same_position=True)


def _dataset_identity(d: Dataset) -> tuple[Any, ...]:
    return (d.id, d.physical_name)


def _column_identity(c: Column) -> tuple[Any, ...]:
    return (c.id, c.physical_name)


def _same_dataset_shape(a: Dataset, b: Dataset) -> bool:
    return bool(a.columns) and {c.name for c in a.columns} == {c.name for c in b.columns}


def _same_column_shape(a: Column, b: Column) -> bool:
    def shape(c: Column) -> tuple[Any, ...]:
        return (
            c.logical_type,
            c.physical_type,
            c.required,
            c.unique,
            c.primary_key,
            c.allowed_values,
            c.options,
            c.semantics,
            c.classification,
            c.description,
        )

    return shape(a) == shape(b)


def match(
    old: Sequence[Item],
    new: Sequence[Item],
    identity: Callable[[Item], tuple[Any, ...]],
    same_shape: Callable[[Item, Item], bool],
    same_position: bool = False,
) -> tuple[list[tuple[Item, Item]], list[Item], list[Item]]:
    """Pair items by name, then leftover ones by stable id, then physicalName, then identical shape at the
    same position (`same_position`; else a unique shape match anywhere).
    Returns (pairs in new order, removed in old order, added in new order)."""
    by_name = {b.name: b for b in new}
    pairs: dict[int, Item] = {}  # index in new -> old item
    left_old = []
    for a in old:
        b = by_name.get(a.name)
        if b is not None:
            pairs[new.index(b)] = a
        else:
            left_old.append(a)
    left_new = [i for i in range(len(new)) if i not in pairs]
    for slot in range(2):  # 0: stable id, 1: physicalName
        for a in list(left_old):
            key = identity(a)[slot]
            if key is None:
                continue
            hit = [i for i in left_new if identity(new[i])[slot] == key]
            if len(hit) == 1:
                pairs[hit[0]] = a
                left_old.remove(a)
                left_new.remove(hit[0])
    for a in list(left_old):
        position = old.index(a)
        hit = [i for i in left_new if same_shape(a, new[i])]
        if same_position:
            hit = [i for i in hit if i == position]
        if len(hit) == 1:
            chosen = hit[0]
            pairs[chosen] = a
            left_old.remove(a)
            left_new.remove(chosen)
    ordered = [(pairs[i], new[i]) for i in sorted(pairs)]
    return ordered, left_old, [new[i] for i in left_new]
