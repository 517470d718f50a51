import { type DynamicModule, Global, Module } from '@nestjs/common';
import { AppConfig } from '@mesh/config';
import { ProofLinks } from './proof-objects';

/** Provides ProofLinks, signed with the stack's URL-signing key (the one playback URLs use, under its own purpose). */
@Global()
@Module({})
export class MediaModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: MediaModule,
      providers: [{ provide: ProofLinks, useValue: new ProofLinks(config.playback.secret, config.proofs.urlTtlS) }],
      exports: [ProofLinks],
    };
  }
}
