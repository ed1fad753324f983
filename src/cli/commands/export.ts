/** `orrery export JOB DIR`: the job's working directory as ordinary files. */
import path from 'node:path';
import { openFileRepository } from '../../files/open.js';
import { type GlobalOptions, printJson, withStore } from '../context.js';

export function exportCommand(jobRef: string, dir: string, options: GlobalOptions): Promise<number> {
  return withStore(options, async (store, paths) => {
    const job = await store.getJob(jobRef);
    const products = await store.listProducts(job.id);
    const repo = await openFileRepository(options.store ?? paths.files);
    const root = path.resolve(dir);
    try {
      for (const product of products) await repo.copyOut(product.sha256, path.join(root, product.path));
    } finally {
      repo.close?.();
    }
    if (options.json) printJson({ job: job.id, directory: root, files: products.length });
    else process.stdout.write(`${products.length} file(s) of job ${job.id} (${job.name}) written under ${root}\n`);
    return 0;
  });
}
