import type { Registry } from '../registry';
import { buildPauseImage } from './pauseImage';
import { pushImage } from './push';

export type SandboxImages = {
  /** The pause image (containerd's sandbox_image). */
  pause: string;
};

/** Builds (once, cached) and pushes the images a real node needs into the sandbox registry. */
export async function pushSandboxImages(registry: Registry, log: (message: string) => void): Promise<SandboxImages> {
  const started = Date.now();
  const pause = await buildPauseImage();
  const pushed = await pushImage(registry, pause.image, { repository: 'ferry/pause', tag: pause.tag });
  log(`Images pushed in ${((Date.now() - started) / 1000).toFixed(1)} s: ${pushed.reference} (${pause.image.compressedSize} bytes${pause.cached ? ', cached' : ''})`);
  return { pause: pushed.reference };
}
