"""A desktop GIS reading the service's WMS: QGIS's own WMS provider (python3-qgis, the system Python), headless.

Run by tests/test_wms_qgis.py as `/usr/bin/python3 tests/qgis_wms_client.py` with a JSON job on stdin:
    {"url": ".../wms", "layers": ["parks", ...],
     "renders": [{"layer": "parks", "crs": "EPSG:4326", "styles": "", "extent": [x0, y0, x1, y1], "width": 200,
                  "height": 160, "out": "a.png"}],
     "identify": {"layer": ..., "crs": ..., "extent": [...], "width": ..., "height": ..., "point": [x, y]}}
and answers one JSON document on stdout: whether QGIS accepts each of `layers`, the layers QGIS read from
GetCapabilities (the browser's WMS connection), each render, the identify answers (HTML and text), every URL
QGIS requested and QGIS's message log. Extents and points are in QGIS's own axis order (x = easting or
longitude); the provider writes the WMS axis order itself.
"""

import json
import os
import sys
from urllib.parse import parse_qs

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (  # noqa: E402  (the platform is chosen before Qt loads)
    Qgis,
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsDataItem,
    QgsErrorMessage,
    QgsLayerItem,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsNetworkAccessManager,
    QgsNetworkRequestParameters,
    QgsPointXY,
    QgsProviderRegistry,
    QgsRaster,
    QgsRasterLayer,
    QgsRectangle,
    QgsSettings,
)
from qgis.PyQt.QtCore import QSize  # noqa: E402
from qgis.PyQt.QtGui import QColor, QImage  # noqa: E402

CONNECTION = "petakota"
KEEP: list = []


def layer_uri(url: str, layer: str, crs: str, styles: str = "") -> str:
    """The URI QGIS's "Add WMS layer" dialog writes for one layer of a service."""
    return f"contextualWMSLegend=0&crs={crs}&dpiMode=7&format=image/png&layers={layer}&styles={styles}&url={url}"


def browser_layers(url: str) -> list[str]:
    """The layer names of the service as QGIS's browser lists them under a saved WMS connection."""
    QgsSettings().setValue(f"qgis/connections-wms/{CONNECTION}/url", url)
    provider = next(p for p in QgsProviderRegistry.instance().dataItemProviders("wms") if p.name() == "WMS")
    root = provider.createDataItem("", None)
    names: list[str] = []

    def walk(items: list[QgsDataItem]) -> None:
        for item in items:
            if isinstance(item, QgsLayerItem):
                names.append(parse_qs(item.uri())["layers"][0])
            walk(item.children())  # layer groups come filled from the capabilities

    for connection in root.createChildren():
        if connection.name() == CONNECTION:
            items = connection.createChildren()  # this requests and parses GetCapabilities
            walk(items)
            KEEP.extend([root, connection, *items])  # freeing browser items before exit crashes QGIS 3.22
    return names


def error_text(error) -> str:
    return "" if error.isEmpty() else error.message(QgsErrorMessage.Text)  # summary() of no error crashes


def render(url: str, job: dict) -> dict:
    """The layer drawn by QGIS's map renderer, its WMS layer in the map's CRS (as QGIS adds a layer to a map)."""
    layer = QgsRasterLayer(layer_uri(url, job["layer"], job["crs"], job.get("styles", "")), job["layer"], "wms")
    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(QgsCoordinateReferenceSystem(job["crs"]))
    settings.setExtent(QgsRectangle(*job["extent"]))
    settings.setOutputSize(QSize(job["width"], job["height"]))
    settings.setOutputDpi(96)
    settings.setBackgroundColor(QColor(0, 0, 0, 0))  # transparent: what the layer draws, and nothing else
    settings.setOutputImageFormat(QImage.Format_ARGB32)
    renderer = QgsMapRendererSequentialJob(settings)
    renderer.start()
    renderer.waitForFinished()
    image = renderer.renderedImage()
    saved = image.save(job["out"], "PNG")
    shown = settings.visibleExtent()
    return {"valid": layer.isValid(), "crs": job["crs"], "out": job["out"], "saved": saved,
            "size": [image.width(), image.height()],
            "extent": [shown.xMinimum(), shown.yMinimum(), shown.xMaximum(), shown.yMaximum()],
            "errors": [f"{e.layerID}: {e.message}" for e in renderer.errors()]}


def identify(url: str, job: dict) -> dict:
    layer = QgsRasterLayer(layer_uri(url, job["layer"], job["crs"]), job["layer"], "wms")
    provider = layer.dataProvider()
    out = {"valid": layer.isValid(), "answers": {}}
    for name, fmt in (("html", QgsRaster.IdentifyFormatHtml), ("text", QgsRaster.IdentifyFormatText)):
        result = provider.identify(QgsPointXY(*job["point"]), fmt, QgsRectangle(*job["extent"]), job["width"],
                                   job["height"], 96)
        out["answers"][name] = {"valid": result.isValid(), "error": error_text(result.error()),
                                "results": [str(v) for v in result.results().values()]}
    return out


def main() -> None:
    job = json.load(sys.stdin)
    app = QgsApplication([], False)
    app.initQgis()
    requests: list[str] = []
    QgsNetworkAccessManager.instance().requestAboutToBeCreated[QgsNetworkRequestParameters].connect(
        lambda request: requests.append(request.request().url().toString()))
    log: list[str] = []
    QgsApplication.messageLog().messageReceived.connect(lambda message, tag, level: log.append(f"{tag}: {message}"))
    answer: dict = {"qgis": Qgis.QGIS_VERSION, "layers": {}}
    for name in job.get("layers", []):
        layer = QgsRasterLayer(layer_uri(job["url"], name, "EPSG:3857"), name, "wms")
        answer["layers"][name] = {"valid": layer.isValid(), "error": error_text(layer.error())}
    answer["browser_layers"] = browser_layers(job["url"])
    answer["renders"] = [render(job["url"], r) for r in job.get("renders", [])]
    if job.get("identify"):
        answer["identify"] = identify(job["url"], job["identify"])
    app.processEvents()  # the message log reaches this thread through the event loop
    answer["requests"] = requests
    answer["log"] = log
    print(json.dumps(answer))
    sys.stdout.flush()
    os._exit(0)  # QGIS 3.22 crashes tearing down a browser connection; everything is answered by now


if __name__ == "__main__":
    main()
