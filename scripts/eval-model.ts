// Evaluates a saved checkpoint file on the ColorMNIST test split: an Autoencoder's reconstruction
// PSNR ([0, 1] scale) or a classifier's accuracy. Confirms that the files reproduce the training
// run's numbers.
//
//   node --import tsx scripts/eval-model.ts runs/ae-default/ae.json [more files...]
import { initEngine } from '../src/engine/index.ts';
import { loadColorMnist } from '../src/data/node.ts';
import '../src/models/autoencoder.ts';
import '../src/models/classifier-colormnist.ts';
import '../src/models/squeezenet.ts';
import { Autoencoder } from '../src/models/autoencoder.ts';
import { readCheckpointFile } from '../src/models/checkpoint-files.ts';
import { loadModel } from '../src/models/checkpoints.ts';
import type { StagedClassifier } from '../src/models/classifier.ts';
import { accuracy, reconstructionPsnr } from '../src/train/metrics.ts';

await initEngine();
const test = loadColorMnist('test');
for (const file of process.argv.slice(2)) {
  const t0 = performance.now();
  const model = loadModel(readCheckpointFile(file));
  const result = model instanceof Autoencoder
    ? { psnr: reconstructionPsnr(model, test) }
    : { accuracy: accuracy(model as StagedClassifier, test) };
  console.log(JSON.stringify({ file, className: model.className, ...result, seconds: (performance.now() - t0) / 1000 }));
  model.dispose();
}
