import { Module } from '@nestjs/common';
import { JwtVerifier } from './jwt-verifier';
import { TokenIssuer } from './token-issuer';

@Module({ providers: [JwtVerifier, TokenIssuer], exports: [JwtVerifier, TokenIssuer] })
export class AuthModule {}
