/**
 * The analyses of "Making Sense of CNNs" (Rombach, Esser, Ommer, ECCV 2020) §3.2 and §4 as
 * library functions, one per file; docs/analyses.md defines every number they return.
 *
 * | file | analysis | paper |
 * |---|---|---|
 * | invariances.ts | 1 samples of a layer's invariances; 2 invariance per layer | Fig. 3 |
 * | semantic-sensitivity.ts | 3 how much of each semantic factor z fixes | §3.2 |
 * | e-quality.ts | 10 what each factor of e separates, pair correlations beside their bound | IIN |
 * | training-dynamics.ts | 4 the same per training checkpoint, with accuracy | Fig. 4 |
 * | snapshot-curves.ts | 4 accuracy and factor-swap reactions per checkpoint | Fig. 4 |
 * | attacks.ts | 5 FGSM / PGD made visible, per layer | Fig. 5 |
 * | semantic-modification.ts | 6 factor swaps and the model's sensitivity to them | Fig. 7, Eq. 7 |
 * | mixing.ts | 7 D(t⁻¹(v₁|z₂)) | demo |
 * | compare-models.ts | 8 two models on the same inputs | Fig. 6 |
 * | baselines.ts, fid.ts, table1.ts | 9 D&B, M&V, Fréchet distance | Table 1, Fig. 2 |
 *
 * Browser-safe (tfjs only). Figures and files: src/figures/, src/figures/analysis-figures.ts (renderers; the CLI writes their artefacts).
 */
export * from './context.ts';
export * from './stats.ts';
export * from './invariances.ts';
export * from './semantic-sensitivity.ts';
export * from './e-quality.ts';
export * from './training-dynamics.ts';
export * from './snapshot-curves.ts';
export * from './attacks.ts';
export * from './semantic-modification.ts';
export * from './mixing.ts';
export * from './compare-models.ts';
export * from './baselines.ts';
export * from './fid.ts';
export * from './table1.ts';
