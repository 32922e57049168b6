"""Seeded mammogram-like phantoms: benign circumscribed masses vs malignant spiculated ones.

The phantoms exist so that a search can be run, tested and demonstrated without any
licensed data. They imitate the cues radiologists use (BI-RADS mass descriptors):

* background: fibroglandular texture with a power-law spectrum (real mammograms have
  a power spectrum close to 1/f^3), a faint oriented band of fibrous streaks (ligaments
  and ducts run towards the nipple) and a varying overall density (brightness);
* benign: a round or oval mass with a circumscribed (sharp, smooth) margin;
* malignant: an irregular mass with an ill-defined margin and spicules (thin radial
  lines reaching out from the mass).

One number per image, the *malignancy score* ``m`` in [0, 1], drives every shape cue
(irregularity, margin blur, spicule strength and length). Benign images draw ``m`` below
0.5 and malignant ones above it; ``difficulty`` (squared, so that the default 0.5 is
still learnable by a small CNN in a few epochs) pulls both towards 0.5, lowers lesion
contrast and raises noise, so at difficulty 1 the two classes come from the same
distribution and no classifier can beat chance. Density, texture, lesion size, position
and aspect are drawn independently of the class: they are nuisances, not cues.

Everything is vectorised numpy (FFT-filtered noise for the texture, per-image angular
look-up tables for the mass outline and spicules) so 2000 images of 128 px take about 2.5 s
on two CPU cores, and the output depends only on the spec (seed included).
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np

from mammosearch.errors import DataError


class PhantomSettings(Protocol):
    """What the renderer reads (``sources/synthetic.py``'s spec has these fields)."""

    @property
    def n_images(self) -> int: ...
    @property
    def image_size(self) -> int: ...
    @property
    def malignant_fraction(self) -> float: ...
    @property
    def difficulty(self) -> float: ...
    @property
    def images_per_patient(self) -> int: ...
    @property
    def seed(self) -> int: ...

_CHUNK = 128  # images rendered at once: bounds memory (a few float32 arrays of CHUNK*S*S)
# angular resolution of the outline/spicule look-up tables: < 0.5 px at the spicule tips
# of 128 px images
_ANGLE_BINS = 1024
_MAX_SPICULES = 12
_HARMONICS = np.arange(2, 9)  # outline irregularity: cos(k*theta) terms, k = 2..8


def generate_synthetic(spec: PhantomSettings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Render ``spec.n_images`` phantoms.

    Returns ``(images, labels, patient_ids)``: ``uint8`` of shape ``(N, S, S, 1)``,
    ``int8`` 0 = benign / 1 = malignant, and ``str`` ids like ``"syn0-0001"`` (seed 0) shared by
    ``images_per_patient`` consecutive images. Same spec (seed included) = same bytes.
    """
    _validate(spec)
    rng = np.random.default_rng(spec.seed)
    n, size = spec.n_images, spec.image_size
    labels, patient_of_image, patient_ids = _labels_and_patients(spec, rng)
    params = _draw_params(spec, labels, patient_of_image, rng)

    images = np.empty((n, size, size, 1), dtype=np.uint8)
    for start in range(0, n, _CHUNK):
        stop = min(start + _CHUNK, n)
        chunk = {key: value[start:stop] for key, value in params.items()}
        images[start:stop, :, :, 0] = _render(chunk, size, rng)
    return images, labels, patient_ids


def _validate(spec: PhantomSettings) -> None:
    problems = []
    if spec.n_images < 2:
        problems.append(f"n_images must be >= 2, got {spec.n_images}")
    if spec.image_size < 16:
        problems.append(f"image_size must be >= 16, got {spec.image_size}")
    if not 0.0 <= spec.malignant_fraction <= 1.0:
        problems.append(f"malignant_fraction must be in [0, 1], got {spec.malignant_fraction}")
    if not 0.0 <= spec.difficulty <= 1.0:
        problems.append(f"difficulty must be in [0, 1], got {spec.difficulty}")
    if spec.images_per_patient < 1:
        problems.append(f"images_per_patient must be >= 1, got {spec.images_per_patient}")
    if problems:
        raise DataError("synthetic data: " + "; ".join(problems))


def _labels_and_patients(
    spec: PhantomSettings, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact class balance; labels handed out patient by patient in random patient order.

    Filling whole patients keeps every patient single-class except at most one (like a
    woman whose two views show the same lesion), which is what the patient-grouped split
    expects of real data.
    """
    n, per = spec.n_images, spec.images_per_patient
    n_patients = math.ceil(n / per)
    patient_of_image = np.arange(n) // per
    n_malignant = int(math.floor(n * spec.malignant_fraction + 0.5))  # round half up
    patient_order = rng.permutation(n_patients)
    # rank of each image when images are listed in the random patient order
    rank_of_patient = np.empty(n_patients, dtype=np.int64)
    rank_of_patient[patient_order] = np.arange(n_patients)
    image_rank = np.argsort(np.lexsort((np.arange(n), rank_of_patient[patient_of_image])))
    labels = (image_rank < n_malignant).astype(np.int8)
    width = max(4, len(str(n_patients)))
    # The seed is in the id: two synthetic sets are different women, so evaluating a model
    # on another seed is not refused as patient overlap.
    ids = np.array([f"syn{spec.seed}-{p + 1:0{width}d}" for p in range(n_patients)])
    return labels, patient_of_image, ids[patient_of_image]


def _draw_params(
    spec: PhantomSettings, labels: np.ndarray, patient: np.ndarray, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Small per-image parameter vectors; breast density, lesion size and how typical the
    lesion is are per patient (two views of one woman look alike, so leakage would pay)."""
    n, size = spec.n_images, spec.image_size
    # squared so the scale spends its range where it matters: 0.5 is still learnable by a
    # small CNN in a few epochs, the last steps towards 1 remove what is left of the signal
    d = spec.difficulty**2
    n_patients = int(patient[-1]) + 1
    u = rng.uniform(0.5, 1.0, n_patients)[patient]  # how typical of its class
    density = rng.uniform(0.22, 0.55, n_patients)[patient]
    radius = size * rng.uniform(0.11, 0.17, n_patients)[patient] * rng.uniform(0.9, 1.1, n)
    sign = 2.0 * labels - 1.0
    m = 0.5 + sign * 0.5 * (1.0 - d) * u  # malignancy score: the only class-dependent draw
    px = size / 64.0  # margin widths etc. are defined at 64 px and scale with the image

    n_spicules = rng.integers(5, _MAX_SPICULES + 1, n)
    active = np.arange(_MAX_SPICULES)[None, :] < n_spicules[:, None]
    return {
        "density": density,
        "gradient": rng.uniform(-0.08, 0.08, (n, 2)),  # thickness fall-off across the patch
        "texture": rng.uniform(0.045, 0.075, n),
        "streaks": rng.uniform(0.1, 0.35, n),
        "streak_angle": rng.uniform(0.0, np.pi, n),
        "center": size * (0.5 + rng.uniform(-0.1, 0.1, (n, 2))),
        "radius": radius,
        "aspect": rng.uniform(1.0, 1.6, n),
        "tilt": rng.uniform(0.0, np.pi, n),
        "irregularity": (0.03 + 0.22 * m)[:, None]
        * rng.uniform(0.3, 1.0, (n, len(_HARMONICS)))
        / np.sqrt(_HARMONICS - 1.0),
        "harmonic_phase": rng.uniform(0.0, 2 * np.pi, (n, len(_HARMONICS))),
        "margin": px * (0.35 + 2.4 * m**1.5),
        "spicule_angle": np.where(active, rng.uniform(0.0, 2 * np.pi, (n, _MAX_SPICULES)), np.nan),
        "spicule_length": radius[:, None]
        * (0.3 + 1.6 * m[:, None])
        * rng.uniform(0.6, 1.3, (n, _MAX_SPICULES)),
        "spicule_strength": np.clip(1.4 * (m - 0.3), 0.0, 1.0)[:, None]
        * rng.uniform(0.6, 1.0, (n, _MAX_SPICULES)),
        "spicule_width": px * rng.uniform(0.6, 0.9, n),
        "contrast": (0.30 - 0.17 * d) * rng.uniform(0.8, 1.2, n),
        "noise": np.full(n, 0.008 + 0.045 * d),
    }


def _render(p: dict[str, np.ndarray], size: int, rng: np.random.Generator) -> np.ndarray:
    """Render one chunk of images to uint8 (n, size, size)."""
    n = len(p["density"])
    f32 = np.float32
    coords = np.arange(size, dtype=f32) + f32(0.5)
    rel = (coords - size / 2) / size  # -0.5..0.5, for the density gradient

    image = _texture(p, size, rng)
    image *= p["texture"].astype(f32)[:, None, None]
    image += p["density"].astype(f32)[:, None, None]
    image += (p["gradient"][:, 0, None, None] * rel[None, None, :]).astype(f32)
    image += (p["gradient"][:, 1, None, None] * rel[None, :, None]).astype(f32)

    # polar coordinates around each lesion centre
    dx = coords[None, None, :] - p["center"][:, 0, None, None].astype(f32)
    dy = coords[None, :, None] - p["center"][:, 1, None, None].astype(f32)
    rho = np.hypot(dx, dy)
    theta = np.arctan2(dy, dx)
    bins = ((theta + np.pi) * (_ANGLE_BINS / (2 * np.pi))).astype(np.int32)
    np.clip(bins, 0, _ANGLE_BINS - 1, out=bins)
    flat_bins = bins.reshape(n, -1)

    def lookup(table: np.ndarray) -> np.ndarray:
        return np.take_along_axis(table.astype(f32), flat_bins, axis=1).reshape(n, size, size)

    outline, log_spicule, length, strength = _angular_tables(p)
    boundary = lookup(outline)
    margin = p["margin"].astype(f32)[:, None, None]
    # mass body: logistic edge; a small margin width = circumscribed, a large one = ill-defined
    mass = 0.5 - 0.5 * np.tanh((rho - boundary) / (2 * margin))  # logistic, overflow-free
    # spicules: exp(rho^2 * log_table) keeps a constant width in pixels at every radius
    spicule = np.exp(np.square(rho) * lookup(log_spicule))
    reach = lookup(length)
    taper = np.clip((boundary + reach - rho) / reach, 0.0, 1.0)
    spicule *= taper * lookup(strength)
    lesion = np.maximum(mass, spicule)
    lesion *= p["contrast"].astype(f32)[:, None, None]
    image += lesion

    image += rng.standard_normal(image.shape, dtype=f32) * p["noise"].astype(f32)[:, None, None]
    np.clip(image, 0.0, 1.0, out=image)
    return np.rint(image * 255.0).astype(np.uint8)


def _texture(p: dict[str, np.ndarray], size: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-variance fibroglandular texture: power-law noise plus an oriented streak band,
    made in one inverse FFT of filtered complex white noise."""
    n = len(p["density"])
    fy = np.fft.fftfreq(size).astype(np.float32)[:, None]
    fx = np.fft.rfftfreq(size).astype(np.float32)[None, :]
    freq = np.hypot(fy, fx)
    freq[0, 0] = 1.0  # avoid 0 ** negative; the DC term is zeroed below
    isotropic = (freq + 2.0 / size) ** -1.5  # amplitude ~ f^-1.5, power ~ f^-3
    isotropic[0, 0] = 0.0
    isotropic /= np.sqrt(np.sum(isotropic**2))
    # streaks along angle a have their energy along the perpendicular frequency direction
    freq_angle = np.arctan2(fy, fx)[None]
    normal = p["streak_angle"].astype(np.float32)[:, None, None] + np.float32(np.pi / 2)
    orientation = np.exp(-np.square(np.sin(freq_angle - normal)) / (2 * 0.08**2))
    band = np.exp(-np.square(np.log(freq / 0.12)) / (2 * 0.45**2))
    band[0, 0] = 0.0
    streak = orientation * band
    streak /= np.sqrt(np.sum(streak**2, axis=(1, 2), keepdims=True))
    weight = p["streaks"].astype(np.float32)[:, None, None]
    spectrum_filter = np.sqrt(1.0 - weight**2) * isotropic + weight * streak

    shape = (n, size, size // 2 + 1)
    noise = rng.standard_normal(shape, dtype=np.float32) + 1j * rng.standard_normal(
        shape, dtype=np.float32
    )
    texture = np.fft.irfft2(noise * spectrum_filter, s=(size, size), axes=(1, 2))
    texture -= texture.mean(axis=(1, 2), keepdims=True)
    texture /= texture.std(axis=(1, 2), keepdims=True) + np.float32(1e-8)
    return texture.astype(np.float32, copy=False)


def _angular_tables(
    p: dict[str, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-image tables over the angle: outline radius, spicule log-profile, length, strength.

    Anything that depends on the angle only is computed on ``_ANGLE_BINS`` values per
    image and looked up per pixel, which is far cheaper than evaluating it per pixel.
    """
    angles = ((np.arange(_ANGLE_BINS) + 0.5) * (2 * np.pi / _ANGLE_BINS) - np.pi).astype(np.float32)
    t = angles[None, :] - p["tilt"][:, None]
    # oval of equal area to a circle of the radius: semi-axes r*sqrt(a), r/sqrt(a)
    a = np.sqrt(p["aspect"])[:, None]
    oval = p["radius"][:, None] / np.sqrt(np.square(np.cos(t) / a) + np.square(np.sin(t) * a))
    wobble = np.sum(
        p["irregularity"][:, :, None]
        * np.cos(
            _HARMONICS[None, :, None] * angles[None, None, :] + p["harmonic_phase"][:, :, None]
        ),
        axis=1,
    )
    outline = oval * np.clip(1.0 + wobble, 0.4, None)

    # angular distance to every spicule; inactive spicules are NaN -> never the nearest
    delta = np.abs(angles[None, None, :] - p["spicule_angle"][:, :, None].astype(np.float32))
    delta = np.minimum(delta, 2 * np.pi - delta)
    delta = np.where(np.isnan(delta), np.inf, delta)
    nearest = np.argmin(delta, axis=1)  # (n, bins)
    nearest_delta = np.take_along_axis(delta, nearest[:, None, :], axis=1)[:, 0, :]
    width = p["spicule_width"][:, None]
    log_spicule = -np.square(nearest_delta) / (2 * np.square(width))  # times rho^2 per pixel
    length = np.take_along_axis(p["spicule_length"], nearest, axis=1)
    strength = np.take_along_axis(p["spicule_strength"], nearest, axis=1)
    return outline, log_spicule, length, strength


def lesion_circles(spec: PhantomSettings) -> np.ndarray:
    """Where each phantom's mass is: ``(N, 3)`` column, row and radius in pixels (the mass's own
    radius, spicules not counted). The same draws as :func:`generate_synthetic`, without rendering;
    what an explanation of a phantom model is checked against."""
    _validate(spec)
    rng = np.random.default_rng(spec.seed)
    labels, patient_of_image, _ = _labels_and_patients(spec, rng)
    params = _draw_params(spec, labels, patient_of_image, rng)
    return np.column_stack([params["center"][:, 0], params["center"][:, 1], params["radius"]])
