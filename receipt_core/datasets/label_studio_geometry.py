"""Where a Label Studio region lies on its page: the page's size from a task, and a rectangle's or polygon's box in
page pixels (Label Studio gives percent of the image, a rotation about the top-left corner, or polygon points)."""

from __future__ import annotations

import math
from typing import Any, Mapping

from ..data.document import Box
from ._common import RecordError, box_on_page, number, page_size, short_id, shown


def page_of(data: Mapping, results: list[Mapping], notes: list[str]) -> tuple[int, int]:
    """The page's width and height: the first result's original image size that is one, else the task data's width
    and height. A region whose size is none is named (a probe's one region with original_width 0 lost its whole
    task, unnamed); its box, in percent, is read on the page the others give."""
    unread: dict[str, str] = {}  # region id -> why its size is none (its shape, text and labels share the id)
    size, source = None, "of the other regions"
    for result in results:
        if "original_width" in result and "original_height" in result:
            try:
                size = page_size(result["original_width"], result["original_height"], "the original image")
                break
            except RecordError as error:
                unread.setdefault(shown(result.get("id")), str(error))
    if size is None and "width" in data and "height" in data:
        size, source = page_size(data["width"], data["height"], "the page in data"), "the task data gives"
    said = [f"region {short_id(rid)}: {why}" for rid, why in unread.items()]
    if size is None:
        if said:
            raise RecordError(f"{said[0]}, and no other result or the task data gives the page's size")
        raise RecordError("no page size: no result has original_width/original_height and data has no width/height")
    if said:
        notes.append(f"{said[0]}; its box is read on the {size[0]}x{size[1]} page {source}"
                     + (f" (and {len(said) - 1} more such)" if len(said) > 1 else ""))
    return size


def region_box(value: Mapping, width: int, height: int, notes: list[str], rid: str) -> Box:
    """A rectangle's, a polygon's or an ellipse's box in page pixels (Label Studio gives percent of the image)."""
    if "points" in value:
        return _polygon_box(value["points"], width, height, notes, rid)
    if "radiusX" in value or "radiusY" in value:
        return _ellipse_box(value, width, height, notes, rid)
    # x, y: the top-left corner before rotation; the rotation turns the box about that corner. Width and height
    # become pixels before turning: turning the percent offsets mixed units on a page that is not square (a probe
    # read a 24×80 px box as 16×120)
    x, y = number(value.get("x"), "x") * width / 100, number(value.get("y"), "y") * height / 100
    w = number(value.get("width"), "width") * width / 100
    h = number(value.get("height"), "height") * height / 100
    angle = number(value.get("rotation", 0) or 0, "rotation", 360.0)
    if w < 0 or h < 0:  # Label Studio measures from the top-left corner; a probe's -50 read as "outside the page"
        sizes = " and ".join(f"{name} {number(value.get(name), name):g}" for name, size in (("width", w),
                                                                                          ("height", h)) if size < 0)
        notes.append(f"region {short_id(rid)}: negative {sizes} (Label Studio measures a box rightwards and "
                     "downwards from its top-left corner); read as the box its corners span")
    if not w or not h:  # a probe's zero-size rectangle was stored unsaid, when every other odd box got a note
        flat = " and ".join(name for name, size in (("width", w), ("height", h)) if not size)
        notes.append(f"region {short_id(rid)}: its {flat} {'are' if ' and ' in flat else 'is'} 0, so its box has no "
                     "area; kept, its text and label at that place")
    corners = [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)]
    if angle:
        notes.append(f"region {short_id(rid)}: rotated {angle:g}°; stored as the upright box around it")
        c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        corners = [(dx * c - dy * s, dx * s + dy * c) for dx, dy in corners]
    return _on_page([round(x + dx, 2) for dx, _ in corners], [round(y + dy, 2) for _, dy in corners], width,
                    height, notes, rid)


def _ellipse_box(value: Mapping, width: int, height: int, notes: list[str], rid: str) -> Box:
    """An ellipse's box: the upright rectangle around it. Its centre ``x``, ``y`` and radii ``radiusX``, ``radiusY``
    are percent of the image, and it turns by ``rotation`` degrees about its centre (probe 58's ellipse was dropped as
    "width must be a number"; its numbers are read as a rectangle's are, each named when it is none)."""
    x, y = number(value.get("x"), "x") * width / 100, number(value.get("y"), "y") * height / 100
    rx = abs(number(value.get("radiusX"), "radiusX")) * width / 100
    ry = abs(number(value.get("radiusY"), "radiusY")) * height / 100
    turn = math.radians(number(value.get("rotation", 0) or 0, "rotation", 360.0))
    half_w, half_h = math.hypot(rx * math.cos(turn), ry * math.sin(turn)), math.hypot(rx * math.sin(turn),
                                                                                       ry * math.cos(turn))
    notes.append(f"region {short_id(rid)}: an ellipse; stored as the upright box around it")
    return _on_page([round(x - half_w, 2), round(x + half_w, 2)], [round(y - half_h, 2), round(y + half_h, 2)],
                    width, height, notes, rid)


def _polygon_box(points: Any, width: int, height: int, notes: list[str], rid: str) -> Box:
    """A polygon's box: its points are [x, y] in percent of the image (Label Studio's OCR template draws both)."""
    if not isinstance(points, list) or len(points) < 3 or not all(isinstance(p, list) and len(p) == 2
                                                                   for p in points):
        raise RecordError(f"a polygon's points must be a list of at least 3 [x, y] pairs, got {shown(points)}")
    xs = [round(number(px, "x") * width / 100, 2) for px, _ in points]
    ys = [round(number(py, "y") * height / 100, 2) for _, py in points]
    notes.append(f"region {short_id(rid)}: a polygon; stored as the upright box around it")
    return _on_page(xs, ys, width, height, notes, rid)


def _on_page(xs: list[float], ys: list[float], width: int, height: int, notes: list[str], rid: str) -> Box:
    box, clamped = box_on_page(xs, ys, width, height)
    if clamped:
        notes.append(f"region {short_id(rid)}: box extends outside the {width}x{height} page; clamped")
    return box


_SHAPES_OF_NO_BOX = {"keypoint": "a keypoint", "keypointlabels": "a keypoint", "brush": "a brush mask",
                     "brushlabels": "a brush mask"}


def unread_shape(kind: Any, value: Mapping) -> str | None:
    """What a result's shape is when it gives a point or a mask, not a box (a keypoint, a brush's RLE), else None."""
    if kind in _SHAPES_OF_NO_BOX:
        return _SHAPES_OF_NO_BOX[kind]
    if "rle" in value:
        return "a brush mask"
    if "x" in value and "y" in value and not any(k in value for k in ("height", "points", "radiusY")):
        return "a keypoint"  # its transcription's value too: a point, with no height
    return None
