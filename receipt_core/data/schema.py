"""The label schema: which fields the field head predicts, and how dataset categories map onto them.

The schema is data, in one table. The workspace's receipts are labelled with ``DEFAULT_SCHEMA``'s fields, and a
run that names other fields is not loaded (``model.run_manifest``): its answers would be labels no page can show.
Annotators see one label per word: the fields plus ``QUANTITY``, which splits into the two heads'
targets (field ``OTHER`` and quantity word ``True``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

OTHER = "OTHER"
QUANTITY = "QUANTITY"
ITEM_NAME = "ITEM_NAME"
ITEM_FIELDS = (ITEM_NAME, "ITEM_UNIT_PRICE", "ITEM_PRICE")  # the fields of an item's words (a quantity besides)


def shown_label(field_name: str, quantity: bool) -> str:
    """The one label a word shows for its two answers (the field head's and the quantity head's, or an annotator's
    field and quantity mark): ``QUANTITY`` where the word is a quantity, else its field."""
    return QUANTITY if quantity else field_name


def stored_answer(word: Mapping) -> str:
    """:func:`shown_label` of a word of a stored prediction (``{"field": …, "quantity": …}``)."""
    return shown_label(str(word.get("field", OTHER)), bool(word.get("quantity")))


@dataclass(frozen=True)
class LabelSchema:
    """Field labels plus the mapping of each source dataset's categories onto them."""

    name: str
    fields: tuple[str, ...]
    cord_fields: Mapping[str, str]
    cord_quantity: frozenset[str]
    wildreceipt_fields: Mapping[str, str]
    wildreceipt_quantity: frozenset[str]
    _index: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.fields or self.fields[0] != OTHER:
            raise ValueError(f"schema {self.name!r}: the first field must be {OTHER!r}, got {self.fields[:1]}")
        if len(set(self.fields)) != len(self.fields):
            raise ValueError(f"schema {self.name!r}: field labels repeat: {self.fields}")
        if QUANTITY in self.fields:
            raise ValueError(f"schema {self.name!r}: {QUANTITY!r} belongs to the quantity head, not the fields")
        for source, mapping in (("cord", self.cord_fields), ("wildreceipt", self.wildreceipt_fields)):
            unknown = sorted(set(mapping.values()) - set(self.fields))
            if unknown:
                raise ValueError(f"schema {self.name!r}: {source} maps onto unknown fields {unknown}")
        object.__setattr__(self, "_index", MappingProxyType({f: i for i, f in enumerate(self.fields)}))

    @property
    def num_fields(self) -> int:
        return len(self.fields)

    @property
    def annotation_labels(self) -> tuple[str, ...]:
        """What an annotator chooses from: every field plus ``QUANTITY``."""
        return self.fields + (QUANTITY,)

    def field_id(self, label: str) -> int:
        try:
            return self._index[label]
        except KeyError:
            raise ValueError(f"unknown field label {label!r}; schema {self.name!r} has {list(self.fields)}") from None

    def field_name(self, field_id: int) -> str:
        return self.fields[field_id]

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "fields": list(self.fields),
            "cord_fields": dict(self.cord_fields),
            "cord_quantity": sorted(self.cord_quantity),
            "wildreceipt_fields": dict(self.wildreceipt_fields),
            "wildreceipt_quantity": sorted(self.wildreceipt_quantity),
        }

    @classmethod
    def from_json(cls, data: Mapping) -> "LabelSchema":
        try:
            return cls(
                name=str(data["name"]),
                fields=tuple(data["fields"]),
                cord_fields=MappingProxyType(dict(data.get("cord_fields", {}))),
                cord_quantity=frozenset(data.get("cord_quantity", ())),
                wildreceipt_fields=MappingProxyType(dict(data.get("wildreceipt_fields", {}))),
                wildreceipt_quantity=frozenset(data.get("wildreceipt_quantity", ())),
            )
        except KeyError as missing:
            raise ValueError(f"label schema JSON lacks the key {missing}") from None


def unknown_label_problem(documents, schema: LabelSchema) -> str | None:
    """The first word of ``documents`` whose field is not one of ``schema``'s, said with its receipt, its place and
    the label escaped, or None. A probe's tampered workspace held a Cyrillic lookalike of ITEM_NAME: training created
    a run and failed in it with "unknown field label 'ІTEM_NAME'", naming no receipt, the two names alike."""
    fields = set(schema.fields)
    for doc in documents:
        for index, word in enumerate(doc.words):
            if word.field not in fields:
                return (f"receipt {doc.id!r}, word #{index} ({word.text!r}): its label {ascii(word.field)[:60]} is "
                        f"not one of the labels ({', '.join(schema.fields)}); label it on Annotate and try again")
    return None


def _invert(groups: Mapping[str, tuple[str, ...]]) -> Mapping[str, str]:
    return MappingProxyType({source: target for target, sources in groups.items() for source in sources})


# CORD v1 categories per field. Anything not listed (menu.num, menu.etc, sub_total.etc, total.menuqty_cnt, …)
# is OTHER. Quantity words (menu.cnt, menu.sub_cnt) are OTHER for the field head: the quantity head owns them.
_CORD_GROUPS = {
    "ITEM_NAME": ("menu.nm", "menu.sub_nm", "void_menu.nm"),
    "ITEM_UNIT_PRICE": ("menu.unitprice", "menu.sub_unitprice"),
    "ITEM_PRICE": ("menu.price", "menu.sub_price", "menu.itemsubtotal", "menu.discountprice",
                   "menu.sub_discountprice", "void_menu.price"),
    "SUBTOTAL": ("sub_total.subtotal_price",),
    "DISCOUNT": ("sub_total.discount_price",),
    "SERVICE": ("sub_total.service_price", "sub_total.othersvc_price"),
    "TAX": ("sub_total.tax_price",),
    "TOTAL": ("total.total_price", "total.total_etc"),
    "PAYMENT": ("total.cashprice", "total.creditcardprice", "total.emoneyprice"),
    "CHANGE": ("total.changeprice",),
}

# Every CORD v1 category, so importers can tell an unknown category (reported) from an OTHER one.
CORD_CATEGORIES = frozenset(
    [c for group in _CORD_GROUPS.values() for c in group]
    + ["menu.cnt", "menu.sub_cnt", "menu.num", "menu.sub_num", "menu.etc", "menu.sub_etc", "menu.vatyn",
       "void_menu.nm", "void_menu.price", "sub_total.etc", "total.menutype_cnt", "total.menuqty_cnt"]
)

# WildReceipt class names (class_list.txt) per field; keys take their value's field, as CORD does.
_WILDRECEIPT_GROUPS = {
    "ITEM_NAME": ("Prod_item_value",),
    "ITEM_PRICE": ("Prod_price_value",),
    "SUBTOTAL": ("Subtotal_value", "Subtotal_key"),
    "TAX": ("Tax_value", "Tax_key"),
    "SERVICE": ("Tips_value", "Tips_key"),
    "TOTAL": ("Total_value", "Total_key"),
}

# every class WildReceipt's class_list.txt names: those not mapped above are OTHER, and a name outside it is said
# (a probe's lower-cased class list imported 182 words as checked OTHER without a word)
WILDRECEIPT_CLASSES = frozenset(
    ["Ignore", "Others"]
    + [f"{name}_{part}" for name in ("Store_name", "Store_addr", "Tel", "Date", "Time", "Prod_item", "Prod_quantity",
                                     "Prod_price", "Subtotal", "Tax", "Tips", "Total") for part in ("value", "key")]
)

DEFAULT_SCHEMA = LabelSchema(
    name="receipt-v1",
    fields=(OTHER, "ITEM_NAME", "ITEM_UNIT_PRICE", "ITEM_PRICE", "SUBTOTAL", "DISCOUNT", "SERVICE", "TAX",
            "TOTAL", "PAYMENT", "CHANGE"),
    cord_fields=_invert(_CORD_GROUPS),
    cord_quantity=frozenset({"menu.cnt", "menu.sub_cnt"}),
    wildreceipt_fields=_invert(_WILDRECEIPT_GROUPS),
    wildreceipt_quantity=frozenset({"Prod_quantity_value"}),
)
