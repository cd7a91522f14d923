#!/usr/bin/env node
import 'reflect-metadata';
import { serveOrExit } from './server';

serveOrExit();
