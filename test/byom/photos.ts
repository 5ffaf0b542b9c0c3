// Test setup: a small folder of real photographs, made offline from the sample images of
// Debian's python3-skimage (apt-get install python3-skimage; listed in .ci/run). The images are
// resized copies in a temp folder; nothing is committed.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';

/** Colour photographs and grey ones (grey stays 1-channel, to exercise the conversion). */
export const COLOUR_PHOTOS = ['astronaut.png', 'chelsea.png', 'coffee.png', 'rocket.jpg', 'motorcycle_left.png', 'motorcycle_right.png', 'hubble_deep_field.jpg', 'retina.jpg', 'ihc.png'];
export const GREY_PHOTOS = ['camera.png', 'moon.png', 'coins.png'];

/** The skimage data folder, found with dpkg (or null when python3-skimage is not installed). */
export function skimageDataDir(): string | null {
  const guess = '/usr/lib/python3/dist-packages/skimage/data';
  if (existsSync(join(guess, 'astronaut.png'))) return guess;
  try {
    const listed = execFileSync('dpkg', ['-L', 'python3-skimage'], { encoding: 'utf8' }).split('\n').find((l) => l.endsWith('/skimage/data/astronaut.png'));
    return listed ? listed.slice(0, -'/astronaut.png'.length) : null;
  } catch {
    return null;
  }
}

/**
 * Copies the photographs, resized to at most `side` px, into `<tmp>/photos/{colour,grey}/`
 * (two classes, from sub-folders). Returns the folder.
 */
export async function makePhotoFolder(side = 96): Promise<string> {
  const src = skimageDataDir();
  if (!src) throw new Error('the byom test needs the sample photographs of python3-skimage: apt-get install python3-skimage');
  const root = join(mkdtempSync(join(tmpdir(), 'inntrospect-byom-')), 'photos');
  for (const [cls, names] of [['colour', COLOUR_PHOTOS], ['grey', GREY_PHOTOS]] as const) {
    mkdirSync(join(root, cls), { recursive: true });
    for (const name of names) {
      const file = join(src, name);
      if (!existsSync(file)) continue;
      const out = join(root, cls, name.replace(/\.(png|jpg)$/, cls === 'grey' ? '.png' : '.jpg'));
      let img = sharp(file).resize(side, side, { fit: 'inside' });
      img = cls === 'grey' ? img.toColourspace('b-w').png() : img.toColourspace('srgb').removeAlpha().jpeg({ quality: 92 });
      await img.toFile(out);
    }
  }
  if (readdirSync(join(root, 'colour')).length < 4) throw new Error(`too few skimage photographs found in ${src}`);
  return root;
}
