import type { LoggerService } from '@backstage/backend-plugin-api';

/** What ControllerSet needs of a controller. */
export interface StartableController {
  start(): void;
  stop(): Promise<void>;
}

/**
 * One controller per configured cluster (Backup or Restore): all started at once; a cluster whose
 * clients cannot be made is logged and left out, the others run.
 */
export class ControllerSet<C extends StartableController> {
  private readonly controllers = new Map<string, C>();

  constructor(
    private readonly options: {
      /** What the controllers drive, for log messages (e.g. `backup`). */
      kind: string;
      clusterNames: () => string[];
      create: (cluster: string) => Promise<C>;
      logger: LoggerService;
    },
  ) {}

  async start(): Promise<void> {
    await Promise.all(
      this.options.clusterNames().map(async cluster => {
        try {
          const controller = await this.options.create(cluster);
          this.controllers.set(cluster, controller);
          controller.start();
        } catch (error) {
          this.options.logger.warn(`Ferry cannot start its ${this.options.kind} controller on cluster ${cluster}: ${error}`);
        }
      }),
    );
  }

  async stop(): Promise<void> {
    await Promise.all([...this.controllers.values()].map(c => c.stop()));
    this.controllers.clear();
  }
}
