"""The Label Studio labeling template this project writes and reads: one task per receipt, one region per word.

A word is one region id shared by the results of the template's tags (all on the image ``image``)::

    rectangle  from "bbox"           value {x, y, width, height, rotation}   (percent of the image)
    labels     from "label"          value {…, "labels": ["TOTAL"]}          only when the word is labelled
    textarea   from "transcription"  value {…, "text": ["2x"]}
    number     from "quantity"       value {…, "number": 2.0}                a quantity's value
    number     from "group"          value {…, "number": 3}                  the word's item (``group_id``)

plus a ``relation`` (label ``item``) from each word of an item to the next, so Label Studio draws the item. The
item grouping travels in the per-region ``Number`` tag ``group`` (Label Studio's ``perRegion`` classification),
which a one-word item also has; on import, tasks without it take their items from the relations instead.
A receipt with a label or a done mark goes to the task's ``annotations``; one nobody has labelled carries its words as
the first of its ``predictions`` (``model_version`` "ocr"), so Label Studio does not count it completed; model
suggestions go to further ``predictions``, one per run (``model_version`` is the run id, each region's ``score``
the suggestion's). A labelled region's ``meta`` carries
the word's provenance (``label_source``, ``label_run``, ``label_score``); a region without it imports as gold
(``"import"``). A textarea region's ``meta`` carries the OCR's confidence in the word (``ocr_confidence``,
0–100). :func:`label_config` is the labeling configuration to create the matching project.

``label_studio_export`` writes tasks in this shape and ``label_studio`` reads them (and Label Studio's own JSON
export of such a project).
"""

from __future__ import annotations

import textwrap
from xml.sax.saxutils import quoteattr

from ..data.schema import LabelSchema

TASKS_FILE = "tasks.json"
CONFIG_FILE = "label_config.xml"
IMAGE_FOLDER = "images"
README_FILE = "README.txt"  # how to open the export in Label Studio, images included
IMAGE, BBOX, LABEL, TEXT, QUANTITY_TAG, GROUP = "image", "bbox", "label", "transcription", "quantity", "group"
ITEM_RELATION = "item"
OCR_MODEL_VERSION = "ocr"  # the prediction holding an unlabelled receipt's words (and their confidences and items)
OCR_CONFIDENCE = "ocr_confidence"  # a textarea region's meta key: the word's OCR confidence (0–100)
LINE_META = "line"  # a textarea region's meta key: the word's line as exported (an import back keeps the lines)
# a document's meta key: the image link (a Label Studio upload path or URL) of a task imported without its photo,
# written back as its data.ocr on export (a probe's re-export wrote "ocr": null, and Label Studio lost the photos)
IMAGE_LINK_META = "label_studio_image"
PLACE_META = "word"  # a textarea region's meta key: the word's place in its receipt as exported (and its order)


def label_config(schema: LabelSchema) -> str:
    """The Label Studio labeling configuration (the OCR template plus quantity and item tags) for ``schema``."""
    labels = "\n".join(f"    <Label value={quoteattr(label)}/>" for label in schema.annotation_labels)
    return (f'<View>\n  <Image name="{IMAGE}" value="$ocr" zoom="true"/>\n'
            f'  <Labels name="{LABEL}" toName="{IMAGE}">\n{labels}\n  </Labels>\n'
            f'  <Rectangle name="{BBOX}" toName="{IMAGE}" strokeWidth="1"/>\n'
            f'  <TextArea name="{TEXT}" toName="{IMAGE}" editable="true" perRegion="true" required="true" '
            f'maxSubmissions="1" rows="1" placeholder="Recognized Text" displayMode="region-list"/>\n'
            f'  <Number name="{QUANTITY_TAG}" toName="{IMAGE}" perRegion="true" min="0" step="0.001"/>\n'
            f'  <Number name="{GROUP}" toName="{IMAGE}" perRegion="true" min="0"/>\n'
            f'  <Relations>\n    <Relation value="{ITEM_RELATION}"/>\n  </Relations>\n</View>\n')


IMPORT_COMMAND = "`python -m receipt_core import`"
COMMAND_TOKEN = "#" * len(IMPORT_COMMAND)  # one word as long while the README is wrapped: a command is not cut


def export_readme(folder_name: str, with_photos: int | None = None, receipts: int | None = None) -> str:
    """The export's README.txt: how to make the Label Studio project, show its photos and bring it back.
    ``with_photos`` of the ``receipts`` have a photo in the export (None: all); a walkthrough's CORD export had none,
    and its README explained an images/ folder it did not have."""
    serve = (f"Label Studio shows an image only by URL, and {TASKS_FILE} names each one "
             f"{IMAGE_FOLDER}/<sha256>.<ext>. To see them, start Label Studio with "
             "LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED=true and LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT set to the "
             f"folder that holds this one, add a Local Files storage for {folder_name}/{IMAGE_FOLDER}, and in "
             f'{TASKS_FILE} replace each "{IMAGE_FOLDER}/" in data.ocr by "/data/local-files/?d={folder_name}/'
             f'{IMAGE_FOLDER}/".')
    back = (f"put this {IMAGE_FOLDER}/ folder beside the export to keep the photos.")
    if with_photos is None or receipts is None or with_photos >= receipts:
        photos = serve
    else:
        blank = ("their tasks' data.ocr is null, and Label Studio opens them without a picture to draw their regions "
                 "on. Their labels still travel there and back; to label them by sight, use the Annotate page, which "
                 "draws their words on a blank page.")
        if not with_photos:
            photos = (f"none of these receipts has a photo in the workspace (their words and boxes were imported "
                      f"without one), so there is no {IMAGE_FOLDER}/ folder: {blank}")
            back = "the receipts keep their ids, so they replace these in their dataset."
        else:
            photos = (f"{receipts - with_photos} of these {receipts} receipts have no photo in the workspace (their "
                      f"words and boxes were imported without one): {blank} For the {with_photos} with one: {serve}")
    steps = [f"Create a project. Settings -> Labeling Interface -> Code: paste {CONFIG_FILE}.",
             f"Photos: {photos}",
             f"Import {TASKS_FILE}. Receipts with a label or a done mark come as annotations (completed tasks; "
             "each task's data.status says unlabelled, in progress or done, a column to filter the ones in progress "
             "by); "
             'receipts nobody labelled come as the "ocr" prediction, so they wait in the labelling queue; a run\'s '
             "suggestions are further predictions.",
             "Back: export the project as JSON (not JSON-MIN or CSV) and import it on the Data page or with "
             f"{COMMAND_TOKEN}; {back}"]
    body = "\n".join(textwrap.fill(step, width=115, initial_indent=f"{n}. ", subsequent_indent="   ",
                                   break_on_hyphens=False, break_long_words=False)
                     for n, step in enumerate(steps, 1)).replace(COMMAND_TOKEN, IMPORT_COMMAND)
    return f"Receipt MTL Studio: a Label Studio export\n\n{body}\n"
